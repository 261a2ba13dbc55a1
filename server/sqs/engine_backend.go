package sqs

import (
	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
)

// New returns the SQS service over db, to pass to server.Server.Register.
func New(db *engine.DB, opts Options) *server.Service {
	return newService(engineBackend{db}, opts)
}

// engineBackend adapts *engine.DB to backend: only Queue differs, returning
// the handle as the interface.
type engineBackend struct{ *engine.DB }

func (b engineBackend) Queue(ns engine.Namespace, name string) (queueHandle, error) {
	q, err := b.DB.Queue(ns, name)
	if err != nil {
		return nil, err
	}
	return q, nil
}
