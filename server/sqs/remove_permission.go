package sqs

// RemovePermission: QueueUrl, Label. Removes the Policy statement whose Sid
// is Label; the Policy attribute disappears with its last statement.
//
// Differences from AWS: none known (policies are not enforced). The text
// for a label missing from a policy that has other statements ("can't find
// label on existing policy.") is unverified; without a policy it is AWS's
// "can't find label.".

import (
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type removePermissionInput struct {
	QueueUrl string //nolint:revive // model member name
	Label    string
}

func (in *removePermissionInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	in.Label = f.Value("Label")
	return nil
}

func (s *service) removePermission(req *server.Request, resp *server.Response) error {
	var in removePermissionInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	if in.Label == "" {
		return missingParameter("Label")
	}
	attrs := r.q.Info().Attributes
	doc, err := loadPolicy(&attrs, arnOf(r.ref))
	if err != nil {
		return err
	}
	kept := doc.Statement[:0]
	found := false
	for _, st := range doc.Statement {
		if statementSid(st) == in.Label {
			found = true
			continue
		}
		kept = append(kept, st)
	}
	if !found {
		if len(doc.Statement) == 0 {
			// No policy at all: AWS's text, recorded in LocalStack's
			// test_sqs.snapshot.json (test_sqs_permission_lifecycle).
			return invalidParameterValue("Label", in.Label, "can't find label.")
		}
		return invalidParameterValue("Label", in.Label, "can't find label on existing policy.")
	}
	doc.Statement = kept
	return s.storePolicy(r, attrs, doc, req, resp)
}
