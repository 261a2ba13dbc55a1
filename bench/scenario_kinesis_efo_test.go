package bench

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestEFONextCall checks the pacing of SubscribeToShard calls on one
// shard: one call per second, and five seconds after a successful call
// (AWS refuses a quicker one with ResourceInUseException), whichever is
// later; a first call may go at once.
func TestEFONextCall(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	tests := []struct {
		name              string
		lastCall, success time.Duration // offsets from base; -1 = never
		want              time.Duration
	}{
		{"first call", -1, -1, 0},
		{"failed first call: one per second", 0, -1, time.Second},
		{"success: five seconds after it", 0, 0, 5 * time.Second},
		{"failure after a success long ago", 300 * time.Second, 0, 301 * time.Second},
		{"failure soon after a success", 3 * time.Second, 0, 5 * time.Second},
	}
	for _, tt := range tests {
		var shard efoShard
		at := func(d time.Duration) time.Time {
			if d < 0 {
				return time.Time{}
			}
			return base.Add(d)
		}
		shard.lastCall, shard.lastSuccess = at(tt.lastCall), at(tt.success)
		got := shard.nextCall()
		if tt.lastCall < 0 {
			if got.After(base) {
				t.Errorf("%s: next call %v, want no wait", tt.name, got)
			}
			continue
		}
		if want := base.Add(tt.want); !got.Equal(want) {
			t.Errorf("%s: next call at +%v, want +%v", tt.name, got.Sub(base), tt.want)
		}
	}
}

// TestIsUnknownOperation checks which errors mark an operation the server
// does not implement (kinesalite's UnknownOperationException, a 404 or 501
// without an AWS code) and which are ordinary failures that must stay
// errors of the run (throttling, a 500, a transport error).
func TestIsUnknownOperation(t *testing.T) {
	status := func(code int) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}},
			Err:      errors.New("deserialization failed"),
		}}
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"kinesalite", &smithy.GenericAPIError{Code: "UnknownOperationException"}, true},
		{"query protocol", fmt.Errorf("op: %w", &smithy.GenericAPIError{Code: "InvalidAction"}), true},
		{"404", status(http.StatusNotFound), true},
		{"501", fmt.Errorf("op: %w", status(http.StatusNotImplemented)), true},
		{"500 (moto's NotImplementedError page, or a crash)", status(http.StatusInternalServerError), false},
		{"throttled", &smithy.GenericAPIError{Code: "LimitExceededException"}, false},
		{"in use", &smithy.GenericAPIError{Code: "ResourceInUseException"}, false},
		{"transport", errors.New("connection refused"), false},
	}
	for _, tt := range tests {
		if got := isUnknownOperation(tt.err); got != tt.want {
			t.Errorf("%s: isUnknownOperation(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
		if wrapped := unsupported("SubscribeToShard", tt.err); errors.Is(wrapped, ErrUnsupported) != tt.want || !errors.Is(wrapped, tt.err) {
			t.Errorf("%s: unsupported() = %v", tt.name, wrapped)
		}
	}
}
