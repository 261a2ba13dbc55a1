package server

import (
	"fmt"

	"github.com/sluice-dev/sluice/engine"
)

// New returns a Server over db. Register the services, then Serve.
func New(db *engine.DB, cfg Config) (*Server, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil engine.DB", ErrInvalidConfig)
	}
	return newServer(db, cfg)
}

// Namespace returns the engine namespace the request acts in: the
// configured account and the SigV4 region.
func (r *Request) Namespace() engine.Namespace {
	return engine.Namespace{Account: r.Account, Region: r.Region}
}
