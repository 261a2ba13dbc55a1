package kinesis

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"testing"

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
	// Validation errors are InvalidArgumentException with the reason.
	var ae *awsproto.Error
	if !errors.As(mapError(&engine.ValidationError{Field: "ShardCount", Reason: "too big"}), &ae) ||
		ae.Code != "InvalidArgumentException" || ae.Message != "ShardCount: too big" || ae.Status() != http.StatusBadRequest {
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
