package sqs

// PurgeQueue: QueueUrl. Deletes every message; a second purge within 60
// seconds is PurgeQueueInProgress (403).
//
// Differences from AWS: the purge is immediate rather than taking up to 60
// seconds.

import (
	"errors"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
)

func (s *service) purgeQueue(req *server.Request, resp *server.Response) error {
	var in queueURLInput
	if err := decode(req, &in); err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	if err := r.q.Purge(); err != nil {
		if errors.Is(err, engine.ErrPurgeInProgress) {
			return purgeInProgress(r.ref.Name)
		}
		return s.mapError(err)
	}
	o := newOut(req, resp)
	o.empty()
	resp.B = o.B
	return nil
}
