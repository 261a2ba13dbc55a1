package sqs

// GetQueueUrl: QueueName, QueueOwnerAWSAccountId (the namespace's account
// when absent).
//
// Differences from AWS: none known; cross-account lookups succeed only for
// queues created under that account id, which Sluice never does unless the
// server's account is changed.

import (
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
)

type getQueueURLInput struct {
	QueueName              string
	QueueOwnerAWSAccountId string //nolint:revive // model member name
}

func (in *getQueueURLInput) fromForm(f *awsproto.Form) error {
	in.QueueName = f.Value("QueueName")
	in.QueueOwnerAWSAccountId = f.Value("QueueOwnerAWSAccountId")
	return nil
}

func (s *service) getQueueURL(req *server.Request, resp *server.Response) error {
	var in getQueueURLInput
	if err := decode(req, &in); err != nil {
		return err
	}
	if in.QueueName == "" {
		return missingParameter("QueueName")
	}
	ns := req.Namespace()
	if in.QueueOwnerAWSAccountId != "" {
		if !isAccountID(in.QueueOwnerAWSAccountId) {
			return errQueueDoesNotExist
		}
		ns.Account = in.QueueOwnerAWSAccountId
	}
	if !isQueueNameSyntax(in.QueueName) {
		return errQueueDoesNotExist
	}
	if _, err := s.b.Queue(ns, in.QueueName); err != nil {
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.begin("GetQueueUrlResult")
	o.str("QueueUrl", queueURL(req, engine.QueueRef{Namespace: ns, Name: in.QueueName}))
	o.end("GetQueueUrlResult")
	resp.B = o.B
	return nil
}
