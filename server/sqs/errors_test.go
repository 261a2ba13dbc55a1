package sqs

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// TestEngineSentinelsMapped checks that every engine queue sentinel, bare
// and wrapped with context, maps to an SQS error rather than falling through
// to InternalFailure, and that validation errors become
// InvalidParameterValue.
func TestEngineSentinelsMapped(t *testing.T) {
	s := &service{}
	for _, sentinel := range queueSentinels {
		for _, err := range []error{sentinel, fmt.Errorf("engine: queue q: %w", sentinel)} {
			var ae *awsproto.Error
			if !errors.As(s.mapError(err), &ae) {
				t.Errorf("%v: not mapped to an *awsproto.Error", err)
				continue
			}
			if ae.Code == "" || ae.Message == "" {
				t.Errorf("%v: mapped to %+v without code or message", err, ae)
			}
		}
	}
	var ae *awsproto.Error
	if !errors.As(s.mapError(&engine.ValidationError{Field: "Delay", Reason: "too long"}), &ae) || ae.Code != "InvalidParameterValue" ||
		!strings.Contains(ae.Message, "DelaySeconds") {
		t.Errorf("validation error mapped to %+v", ae)
	}
	if err := errors.New("disk on fire"); s.mapError(err) != err {
		t.Errorf("unknown errors must pass through to become InternalFailure")
	}
}

// TestErrorTableShapes checks the modeled error table: every entry has a
// namespaced JSON type, a code, a 4xx status and the sender fault, and the
// codes SDKs match on are the awsQueryCompatible ones.
func TestErrorTableShapes(t *testing.T) {
	if len(modeledErrors) != 28 {
		t.Errorf("%d modeled errors, the model has 28", len(modeledErrors))
	}
	for _, e := range modeledErrors {
		if !strings.HasPrefix(e.JSONType, "com.amazonaws.sqs#") || e.Code == "" || !e.Sender ||
			e.Status() < 400 || e.Status() >= 500 {
			t.Errorf("bad table entry %+v", e)
		}
	}
	for e, want := range map[*awsproto.Error]string{
		errQueueDoesNotExist:      "AWS.SimpleQueueService.NonExistentQueue",
		errQueueNameExists:        "QueueAlreadyExists",
		errPurgeQueueInProgress:   "AWS.SimpleQueueService.PurgeQueueInProgress",
		errReceiptHandleIsInvalid: "ReceiptHandleIsInvalid",
	} {
		if e.Code != want {
			t.Errorf("%s: code %q, want %q", e.JSONType, e.Code, want)
		}
	}
	if errPurgeQueueInProgress.Status() != http.StatusForbidden || errOverLimit.Status() != http.StatusForbidden {
		t.Errorf("PurgeQueueInProgress and OverLimit are 403 in SQS")
	}
}
