package main

import (
	"fmt"
	"log/slog"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/kinesis"
	"github.com/sluice-dev/sluice/server/sqs"
)

// services builds every AWS API the binary serves, in routing priority
// order (the first service wins a query Action that several share and that
// neither the SigV4 scope nor the URL path settles). Each service package
// adds its constructor here.
func services(db *engine.DB, logger *slog.Logger, kcfg kinesis.Config) ([]*server.Service, error) {
	kcfg.Logger = logger
	kinesisService, err := kinesis.New(db, kcfg)
	if err != nil {
		return nil, fmt.Errorf("kinesis: %w", err)
	}
	return []*server.Service{
		sqs.New(db, sqs.Options{Logger: logger}),
		kinesisService.ServerService(),
	}, nil
}
