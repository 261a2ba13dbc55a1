package bench

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// closingBody mimics smithy-go's request body wrapper: once closed, reads
// answer io.EOF, whatever is left.
type closingBody struct {
	mu     sync.Mutex
	r      io.Reader
	closed bool
}

func (b *closingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, io.EOF
	}
	return b.r.Read(p)
}

func (b *closingBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// recordingTransport keeps the request it was handed.
type recordingTransport struct{ got *http.Request }

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

// TestOwnBodyTransport checks the workaround for the smithy-go/net/http
// body race: the transport below ownBodyTransport gets a body that stays
// readable after the SDK closes its own wrapper, with the right length and
// a GetBody; bodies that are already the transport's own (GetBody set, or
// none) pass through untouched.
func TestOwnBodyTransport(t *testing.T) {
	payload := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name          string
		body          func() io.ReadCloser
		contentLength int64
		getBody       bool
		wantCopy      bool
	}{
		{name: "sdk body, known length", body: func() io.ReadCloser { return &closingBody{r: strings.NewReader(payload)} }, contentLength: int64(len(payload)), wantCopy: true},
		{name: "sdk body, unknown length", body: func() io.ReadCloser { return &closingBody{r: strings.NewReader(payload)} }, contentLength: -1, wantCopy: true},
		{name: "rewindable body", body: func() io.ReadCloser { return io.NopCloser(strings.NewReader(payload)) }, contentLength: int64(len(payload)), getBody: true},
		{name: "no body", body: func() io.ReadCloser { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", nil)
			if err != nil {
				t.Fatal(err)
			}
			original := tc.body()
			req.Body, req.ContentLength = original, tc.contentLength
			if tc.getBody {
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(payload)), nil }
			}
			base := &recordingTransport{}
			resp, err := ownBodyTransport{base: base}.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			got := base.got
			if !tc.wantCopy {
				if got != req {
					t.Fatalf("request was rewritten; want it passed through")
				}
				return
			}
			if got.Body == original {
				t.Fatal("transport got the SDK's body, not its own copy")
			}
			// The SDK closes its wrapper as soon as the call returns; the
			// transport's copy must not care.
			if err := original.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(got.Body)
			if err != nil || !bytes.Equal(data, []byte(payload)) {
				t.Fatalf("transport read %d bytes, err %v; want the %d-byte payload", len(data), err, len(payload))
			}
			if got.ContentLength != int64(len(payload)) || got.GetBody == nil {
				t.Fatalf("ContentLength %d, GetBody set %v", got.ContentLength, got.GetBody != nil)
			}
			again, err := got.GetBody()
			if err != nil {
				t.Fatal(err)
			}
			if data, _ := io.ReadAll(again); len(data) != len(payload) {
				t.Fatalf("GetBody gave %d bytes", len(data))
			}
		})
	}
}

// TestNewEnvAppliesCABundle checks that a custom CA bundle named by
// AWS_CA_BUNDLE (which the SDK applies only to its own BuildableClient)
// reaches the transport bench's clients use: a TLS server whose
// certificate is only in the bundle is trusted.
func TestNewEnvAppliesCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bundle  string
		trusted bool
	}{{"", false}, {bundle, true}} {
		t.Setenv("AWS_CA_BUNDLE", tc.bundle)
		if tc.bundle == "" {
			if err := os.Unsetenv("AWS_CA_BUNDLE"); err != nil {
				t.Fatal(err)
			}
		}
		cfg := DefaultConfig()
		cfg.Endpoint = srv.URL
		env, err := NewEnv(context.Background(), cfg)
		if err != nil {
			t.Fatalf("bundle %q: %v", tc.bundle, err)
		}
		resp, err := env.http.Get(srv.URL)
		if err == nil {
			_ = resp.Body.Close()
		}
		env.Close()
		if trusted := err == nil; trusted != tc.trusted {
			t.Errorf("bundle %q: request error %v, want trusted=%v", tc.bundle, err, tc.trusted)
		}
	}
}
