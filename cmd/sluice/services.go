package main

import (
	"log/slog"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
)

// services builds every AWS API the binary serves, in routing priority
// order (the first service wins a query Action that several share and that
// neither the SigV4 scope nor the URL path settles). Each service package
// adds one line here.
func services(db *engine.DB, logger *slog.Logger) ([]*server.Service, error) {
	_, _ = db, logger // TODO(server): register sqs.New / kinesis.New as they land.
	return nil, nil
}
