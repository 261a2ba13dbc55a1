package sqs

// ListQueues: QueueNamePrefix, MaxResults (1–1000), NextToken. Without
// MaxResults at most 1000 URLs are returned and no NextToken, as in AWS.
//
// A query request that accepts JSON gets AWS's member names there:
// queueUrls, NextToken and NextExclusiveStartQueueName, null when unset.
//
// Differences from AWS: NextToken is an opaque base64 of the last name
// returned; tokens never expire.

import (
	"encoding/base64"
	"strconv"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type listQueuesInput struct {
	QueueNamePrefix string
	NextToken       string
	MaxResults      *int
}

func (in *listQueuesInput) fromForm(f *awsproto.Form) error {
	in.QueueNamePrefix = f.Value("QueueNamePrefix")
	in.NextToken = f.Value("NextToken")
	var err error
	in.MaxResults, err = formOptionalInt(f, "MaxResults")
	return err
}

// pageParams validates MaxResults/NextToken and returns the page size and
// the name to continue after.
func pageParams(maxResults *int, nextToken string) (limit int, after string, paginate bool, err error) {
	limit = listQueuesMax
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > listQueuesMax {
			return 0, "", false, invalidParameterValue("MaxResults", strconv.Itoa(*maxResults), "MaxResults must be an integer between 1 and 1000.")
		}
		limit, paginate = *maxResults, true
	}
	if nextToken != "" {
		raw, decodeErr := base64.RawURLEncoding.DecodeString(nextToken)
		if decodeErr != nil || !isQueueNameSyntax(string(raw)) {
			return 0, "", false, invalidParameter("Invalid NextToken value.")
		}
		after = string(raw)
	}
	return limit, after, paginate, nil
}

func nextTokenAfter(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(name))
}

func (s *service) listQueues(req *server.Request, resp *server.Response) error {
	if err := notForQueueURL(req, "ListQueues"); err != nil {
		return err
	}
	var in listQueuesInput
	if err := decode(req, &in); err != nil {
		return err
	}
	limit, after, paginate, err := pageParams(in.MaxResults, in.NextToken)
	if err != nil {
		return err
	}
	ns := req.Namespace()
	names, err := s.b.ListQueues(ns, in.QueueNamePrefix, after, limit+1)
	if err != nil {
		return s.mapError(err)
	}
	next := ""
	if len(names) > limit {
		names = names[:limit]
		if paginate {
			next = nextTokenAfter(names[len(names)-1])
		}
	}
	o := newOut(req, resp)
	o.begin("ListQueuesResult")
	if o.queryJSON {
		writeListQueuesQueryJSON(&o, req, ns, names, next)
		o.end("ListQueuesResult")
		resp.B = o.B
		return nil
	}
	if len(names) > 0 {
		o.listStart("QueueUrls")
		for _, name := range names {
			o.strItem("QueueUrl", queueURL(req, engine.QueueRef{Namespace: ns, Name: name}))
		}
		o.listEnd()
	}
	if next != "" {
		o.str("NextToken", next)
	}
	o.end("ListQueuesResult")
	resp.B = o.B
	return nil
}

// writeListQueuesQueryJSON writes the members of ListQueuesResult as AWS
// names them when a query request asks for JSON: "queueUrls" in lower camel
// case, always present, beside "NextExclusiveStartQueueName" (not in the
// API model) and "NextToken", null when unset. Recorded from AWS:
// localstack/localstack#3715 (2021, Accept: application/json,
// "queueUrls":[]) and JuliaCloud/AWS.jl#127 (2020, ContentType=JSON).
func writeListQueuesQueryJSON(o *out, req *server.Request, ns engine.Namespace, names []string, next string) {
	o.null("NextExclusiveStartQueueName")
	if next == "" {
		o.null("NextToken")
	} else {
		o.str("NextToken", next)
	}
	o.listStart("queueUrls")
	for _, name := range names {
		o.strItem("QueueUrl", queueURL(req, engine.QueueRef{Namespace: ns, Name: name}))
	}
	o.listEnd()
}
