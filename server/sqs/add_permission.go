package sqs

// AddPermission: QueueUrl, Label, AWSAccountIds, Actions (query
// AWSAccountId.N, ActionName.N). The permission becomes a statement of the
// queue's Policy attribute, as AWS renders it (Sid = Label, principals
// arn:aws:iam::ACCOUNT:root, actions "SQS:<Action>").
//
// Differences from AWS: the policy is stored and rendered but never
// enforced: Sluice does not authorize requests.

import (
	"encoding/json"
	"strconv"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type addPermissionInput struct {
	QueueUrl      string //nolint:revive // model member name
	Label         string
	AWSAccountIds []string
	Actions       []string
}

func (in *addPermissionInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	in.Label = f.Value("Label")
	var err error
	if in.AWSAccountIds, err = formStrings(f, "AWSAccountId"); err != nil {
		return err
	}
	in.Actions, err = formStrings(f, "ActionName")
	return err
}

// policyDocument is the Policy attribute's JSON. Statements are kept raw so
// that policies set with SetQueueAttributes survive AddPermission and
// RemovePermission unchanged.
type policyDocument struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []json.RawMessage `json:"Statement"`
}

// permissionStatement is a statement AddPermission creates.
type permissionStatement struct {
	Sid       string `json:"Sid"`
	Effect    string `json:"Effect"`
	Principal struct {
		AWS any `json:"AWS"`
	} `json:"Principal"`
	Action   any    `json:"Action"`
	Resource string `json:"Resource"`
}

// statementSid extracts a raw statement's Sid.
func statementSid(raw json.RawMessage) string {
	var s struct{ Sid string }
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s.Sid
}

// loadPolicy parses the queue's Policy, or starts the default document.
func loadPolicy(attrs *engine.QueueAttributes, arn string) (policyDocument, error) {
	// AddPermission on a queue without a Policy starts SQS's default
	// document, whose Version is 2008-10-17 (not IAM's usual 2012-10-17).
	doc := policyDocument{Version: "2008-10-17", ID: arn + "/SQSDefaultPolicy"}
	raw, ok := attrs.Extra[attrPolicy]
	if !ok || raw == "" {
		return doc, nil
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return doc, invalidAttributeValue(attrPolicy)
	}
	return doc, nil
}

func isActionName(a string) bool {
	if a == "*" {
		return true
	}
	for _, op := range operationNames {
		if op == a {
			return true
		}
	}
	return false
}

func (s *service) addPermission(req *server.Request, resp *server.Response) error {
	var in addPermissionInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	switch {
	case in.Label == "":
		return missingParameter("Label")
	case len(in.AWSAccountIds) == 0:
		return missingParameter("AWSAccountId")
	case len(in.Actions) == 0:
		return missingParameter("ActionName")
	case len(in.Label) > permissionLabelLengthMax || !isNameString(in.Label):
		return invalidParameterValue("Label", in.Label, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	case len(in.Actions) > permissionActionsMax:
		return errOverLimit.WithMessage(strconv.Itoa(len(in.Actions)) + " Actions were found, maximum allowed is " + strconv.Itoa(permissionActionsMax) + ".")
	}
	for _, a := range in.Actions {
		if !isActionName(a) {
			return invalidParameterValue("ActionName", a, "Please refer to the appropriate WSDL for a list of valid actions.")
		}
	}
	for _, id := range in.AWSAccountIds {
		if !isAccountID(id) {
			return invalidParameterValue("AWSAccountId", id, "Invalid AWS account id.")
		}
	}
	info := r.q.Info()
	attrs := info.Attributes
	arn := arnOf(r.ref)
	doc, err := loadPolicy(&attrs, arn)
	if err != nil {
		return err
	}
	for _, st := range doc.Statement {
		if statementSid(st) == in.Label {
			return invalidParameterValue("Label", in.Label, "Already exists.")
		}
	}
	st := permissionStatement{Sid: in.Label, Effect: "Allow", Resource: arn}
	principals := make([]string, len(in.AWSAccountIds))
	for i, id := range in.AWSAccountIds {
		principals[i] = "arn:aws:iam::" + id + ":root"
	}
	actions := make([]string, len(in.Actions))
	for i, a := range in.Actions {
		actions[i] = "SQS:" + a
	}
	st.Principal.AWS, st.Action = oneOrMany(principals), oneOrMany(actions)
	rawStatement, err := json.Marshal(st)
	if err != nil {
		return err
	}
	doc.Statement = append(doc.Statement, rawStatement)
	return s.storePolicy(r, attrs, doc, req, resp)
}

// oneOrMany renders a single value as a string and several as a list, as
// AWS renders generated policies.
func oneOrMany(v []string) any {
	if len(v) == 1 {
		return v[0]
	}
	return v
}

// storePolicy writes doc into the Policy attribute (removing it when no
// statement remains).
func (s *service) storePolicy(r resolved, attrs engine.QueueAttributes, doc policyDocument, req *server.Request, resp *server.Response) error {
	value := ""
	if len(doc.Statement) > 0 {
		b, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		value = string(b)
	}
	setExtra(&attrs, attrPolicy, value)
	if err := r.q.SetAttributes(attrs); err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.empty()
	resp.B = o.B
	return nil
}

// operationNames lists the SQS operations (AddPermission action names).
var operationNames = []string{
	"AddPermission", "CancelMessageMoveTask", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
	"CreateQueue", "DeleteMessage", "DeleteMessageBatch", "DeleteQueue", "GetQueueAttributes", "GetQueueUrl",
	"ListDeadLetterSourceQueues", "ListMessageMoveTasks", "ListQueueTags", "ListQueues", "PurgeQueue",
	"ReceiveMessage", "RemovePermission", "SendMessage", "SendMessageBatch", "SetQueueAttributes",
	"StartMessageMoveTask", "TagQueue", "UntagQueue",
}
