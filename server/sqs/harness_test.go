package sqs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
)

func TestMain(m *testing.M) {
	// aws-sdk-go-v2 refuses a custom CA bundle together with our plain HTTP
	// endpoint; the machine sets one.
	_ = os.Unsetenv("AWS_CA_BUNDLE")
	os.Exit(m.Run())
}

// testServer is a running server with the SQS service on 127.0.0.1.
type testServer struct {
	url    string
	client *sdk.Client
}

// startServer serves the SQS API over b on an ephemeral port; the engine
// DB only backs the server core (reset), b answers every SQS call.
func startServer(t testing.TB, b backend) *testServer {
	t.Helper()
	db, err := engine.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatalf("engine.Open: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(db, server.Config{Logger: logger})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Register(newService(b, Options{Logger: logger})); err != nil {
		t.Fatalf("Register: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("db.Close: %v", err)
		}
	})
	ts := &testServer{url: "http://" + ln.Addr().String()}
	ts.client = newClient(t, ts.url, "us-east-1")
	return ts
}

func newClient(t testing.TB, endpoint, region string) *sdk.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")),
		config.WithRetryMaxAttempts(1),
		config.WithHTTPClient(&http.Client{Transport: bufferedBodies{http.DefaultTransport}}),
	)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return sdk.NewFromConfig(cfg, func(o *sdk.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// bufferedBodies hands net/http a private in-memory copy of each request
// body. aws-sdk-go-v2 closes the body it built as soon as the response
// headers arrive; when net/http's connection writer has not finished with
// that body yet (a loaded machine), the write fails with EOF and the writer
// closes the connection under the response the SDK is still reading:
// "use of closed network connection" (aws/aws-sdk-go-v2#2737). The SDK
// retries that by default; these clients make one attempt, so that a
// retry never hides a server error, and so need the race gone instead.
type bufferedBodies struct{ next http.RoundTripper }

func (b bufferedBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return b.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	return b.next.RoundTrip(req)
}

// apiCode returns the SQS error code of err (the x-amzn-query-error code
// aws-sdk-go-v2 exposes), or "" for nil.
func apiCode(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode()
}
