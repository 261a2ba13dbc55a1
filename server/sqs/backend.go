package sqs

import (
	"context"
	"time"

	"github.com/sluice-dev/sluice/engine"
)

// backend is the engine API the handlers call. *engine.DB provides it
// through engineBackend; tests of wire shapes may substitute a fake. The
// method set mirrors engine/CONTRACT.md ("Queues") exactly.
type backend interface {
	CreateQueue(ns engine.Namespace, name string, attrs engine.QueueAttributes, tags map[string]string) (*engine.QueueInfo, error)
	Queue(ns engine.Namespace, name string) (queueHandle, error)
	DeleteQueue(ns engine.Namespace, name string) error
	ListQueues(ns engine.Namespace, prefix, after string, limit int) ([]string, error)
	DeadLetterSourceQueues(dlq engine.QueueRef, after string, limit int) ([]engine.QueueRef, error)
	StartMoveTask(src engine.QueueRef, dst *engine.QueueRef, maxPerSecond int) (handle string, err error)
	CancelMoveTask(handle string) (moved int64, err error)
	ListMoveTasks(src engine.QueueRef, max int) ([]engine.MoveTask, error)
	Clock() engine.Clock
}

// queueHandle is the per-queue part of the engine API (*engine.Queue).
type queueHandle interface {
	Info() engine.QueueInfo
	Counts() engine.QueueCounts
	SetAttributes(attrs engine.QueueAttributes) error
	Tag(tags map[string]string) error
	Untag(keys []string) error
	Purge() error
	Send(ctx context.Context, msgs []engine.SendMessage) ([]engine.SendResult, error)
	Receive(ctx context.Context, opts engine.ReceiveOptions) ([]engine.ReceivedMessage, error)
	Delete(receipts [][]byte) []error
	ChangeVisibility(receipt []byte, timeout time.Duration) error
	ChangeVisibilityBatch(receipts [][]byte, timeouts []time.Duration) []error
}
