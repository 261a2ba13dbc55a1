package kinesis

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// TestEveryEngineStreamErrorMapped parses the engine's stream error
// declarations (stream_errors.go, plus the stream section of errors.go) and
// checks that every sentinel there, wrapped as the engine wraps it, maps to
// a Kinesis error code rather than falling through to InternalFailure. A new
// engine sentinel without a row in errorTable fails this test.
func TestEveryEngineStreamErrorMapped(t *testing.T) {
	byName := map[string]error{}
	for _, e := range errorTable {
		byName[sentinelName(t, e.engine)] = e.engine
	}
	names := declaredSentinels(t, "../../engine/stream_errors.go", "")
	names = append(names, declaredSentinels(t, "../../engine/errors.go", "Streams.")...)
	if len(names) < 5 {
		t.Fatalf("found only %v; did the engine files move?", names)
	}
	for _, name := range names {
		sentinel, ok := byName[name]
		if !ok {
			t.Errorf("engine.%s has no row in errorTable", name)
			continue
		}
		mapped := mapError(fmt.Errorf("engine: stream %q: %w", "s", sentinel))
		var ae *awsproto.Error
		if !errors.As(mapped, &ae) || ae.Code == "" {
			t.Errorf("engine.%s maps to %v", name, mapped)
		}
	}
	// Validation errors are InvalidArgumentException naming the member,
	// never with the engine's reason (TestEngineTextsStayOffTheWire).
	var ae *awsproto.Error
	if !errors.As(mapError(&engine.ValidationError{Field: "ShardCount", Reason: "too big"}), &ae) ||
		ae.Code != "InvalidArgumentException" || ae.Message != "Invalid ShardCount." || ae.Status() != http.StatusBadRequest {
		t.Fatalf("validation error maps to %+v", ae)
	}
	// Unknown errors stay unknown (the server renders InternalFailure).
	if err := mapError(errors.New("disk on fire")); errors.As(err, &ae) {
		t.Fatalf("unknown error mapped to %+v", ae)
	}
}

// declaredSentinels returns the Err* variables declared in file; with
// section set, only those after a comment line equal to section.
func declaredSentinels(t *testing.T, file, section string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	start := token.NoPos
	if section != "" {
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if c.Text == "// "+section {
					start = c.Pos()
				}
			}
		}
		if start == token.NoPos {
			t.Fatalf("%s: no %q section", file, section)
		}
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Pos() < start {
			return true
		}
		for _, id := range vs.Names {
			if len(id.Name) > 3 && id.Name[:3] == "Err" {
				names = append(names, id.Name)
			}
		}
		return true
	})
	return names
}

// sentinelName finds the engine variable name of a sentinel by identity.
func sentinelName(t *testing.T, err error) string {
	t.Helper()
	known := map[error]string{
		engine.ErrStreamNotFound: "ErrStreamNotFound", engine.ErrStreamExists: "ErrStreamExists",
		engine.ErrStreamHasConsumers: "ErrStreamHasConsumers", engine.ErrShardNotFound: "ErrShardNotFound",
		engine.ErrConsumerNotFound: "ErrConsumerNotFound", engine.ErrConsumerExists: "ErrConsumerExists",
		engine.ErrThroughputExceeded: "ErrThroughputExceeded", engine.ErrLimitExceeded: "ErrLimitExceeded",
		engine.ErrResourceInUse: "ErrResourceInUse", engine.ErrClosed: "ErrClosed",
		engine.ErrStreamNotActive: "ErrStreamNotActive",
	}
	name, ok := known[err]
	if !ok {
		t.Fatalf("errorTable row %v has no name here", err)
	}
	return name
}

// TestStreamStateErrorMapping checks how streamError renders the engine's
// *StreamStateError: a data-plane call on a CREATING stream is AWS's
// ResourceNotFoundException for the stream, a control-plane change on a
// stream that is not ACTIVE ResourceInUseException naming the state.
func TestStreamStateErrorMapping(t *testing.T) {
	ns := engine.Namespace{Account: "123456789012", Region: "us-east-1"}
	for _, tc := range []struct {
		err       error
		code, msg string
	}{
		{&engine.StreamStateError{Stream: "s", Status: engine.StreamCreating, DataPlane: true},
			"ResourceNotFoundException", "Stream s under account 123456789012 not found."},
		{fmt.Errorf("wrapped: %w", &engine.StreamStateError{Stream: "s", Status: engine.StreamUpdating}),
			"ResourceInUseException", "Stream s under account 123456789012 not ACTIVE, instead in state UPDATING"},
		{&engine.StreamStateError{Stream: "s", Status: engine.StreamDeleting},
			"ResourceInUseException", "Stream s under account 123456789012 not ACTIVE, instead in state DELETING"},
	} {
		var ae *awsproto.Error
		if !errors.As(streamError(tc.err, ns, "s"), &ae) || ae.Code != tc.code || ae.Message != tc.msg {
			t.Errorf("%v: got %+v, want %s %q", tc.err, ae, tc.code, tc.msg)
		}
	}
}

// TestEngineTextsStayOffTheWire checks that no engine error text reaches a
// client through mapError or streamError: engine validation reasons and
// wrapped sentinels are Go-formatted ("24h0m0s", %q-quoted names) and name
// engine internals ("Namespace.Region", "SecretName").
//
// Regression: mapError rendered a ValidationError as "Field: Reason", so an
// engine rule no handler translated put the engine's text on the wire
// ("StreamMode: stream \"s\" is ON_DEMAND; resharding is supported only
// for PROVISIONED streams", "RetentionPeriodHours: 1h0m0s is not a whole
// number of hours in [24h, 8760h]").
func TestEngineTextsStayOffTheWire(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{&engine.ValidationError{Field: "RetentionPeriodHours", Reason: "1h0m0s is not a whole number of hours in [24h, 8760h]"}, "Invalid RetentionPeriodHours."},
		{&engine.ValidationError{Field: "StreamMode", Reason: `stream "s" is ON_DEMAND; resharding is supported only for PROVISIONED streams`}, "Invalid argument."},
		{&engine.ValidationError{Field: "Namespace.Region", Reason: "longer than 64 bytes"}, "Invalid region or account."},
		{&engine.ValidationError{Field: "SecretName", Reason: "length 0 outside [1, 128]"}, "Invalid argument."},
		{&engine.ValidationError{Field: "Policy", Reason: "length 30000 outside [1, 20480]"}, "Invalid Policy."},
		{fmt.Errorf("%w: UpdateShardCount can be called at most %d times per rolling %v for stream %q", engine.ErrLimitExceeded, 10, 24*time.Hour, "s"), "Rate exceeded."},
		{fmt.Errorf("%w: stream %q would hold more than %d shards", engine.ErrLimitExceeded, "s", 20000), "Rate exceeded."},
	}
	for _, tc := range cases {
		for _, mapped := range []error{mapError(tc.err), streamError(tc.err, engine.Namespace{Account: "000000000000", Region: "us-east-1"}, "s")} {
			var ae *awsproto.Error
			if !errors.As(mapped, &ae) || ae.Message != tc.want {
				t.Errorf("%v: mapped to %v, want message %q", tc.err, mapped, tc.want)
			}
		}
	}
}
