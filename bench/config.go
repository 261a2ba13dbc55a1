package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// Config is one run's settings. The zero value is not useful; start from
// DefaultConfig.
type Config struct {
	// Endpoint is the server's base URL (http://127.0.0.1:4566). Empty
	// targets AWS with the default credential chain and region.
	Endpoint string
	// Target labels the endpoint in reports. Default: the endpoint's host.
	Target string
	// Region is the signing region. Default: the SDK's configured region,
	// or us-east-1 when an endpoint is set.
	Region string
	// Protocol is the SQS wire protocol: "json" (the SDK) or "query".
	// Default: json.
	Protocol string

	Concurrency int           // producer workers. Default: 1.
	Consumers   int           // e2e consumers. Default: Concurrency.
	Duration    time.Duration // measured interval. Default: 10s.
	Count       int64         // measured operations; overrides Duration. Default: 0.
	Warmup      time.Duration // unmeasured lead-in. Default: 0.
	Rate        float64       // open-loop operations per second. Default: 0 (closed loop).
	Size        SizeDist      // payload sizes. Default: 1 KiB.
	Batch       int           // entries per batch request. Default: per scenario (10 SQS, 100 Kinesis).
	Shards      int           // shards of a created stream. Default: 4.
	Groups      int           // FIFO message groups. Default: 16.
	Prefill     int           // messages/records written before a read scenario. Default: 10000.
	// PrefillTimeout bounds the prefill step. Default: 60s.
	PrefillTimeout time.Duration
	// Grace bounds how long requests still in flight at the end may run;
	// those it cuts off count as "Abandoned" errors. Default: 10s.
	Grace time.Duration
	// Wait is the SQS long-poll wait of consumers. Default: 1s.
	Wait time.Duration
	// PollInterval is how long a Kinesis reader pauses after an empty
	// GetRecords. Default: 10ms.
	PollInterval time.Duration
	// Queue / Stream name existing resources to use instead of creating
	// (and deleting) temporary ones.
	Queue  string
	Stream string
	// ServerPID, when > 0, is the server process whose CPU time is sampled
	// over the measured interval (Linux /proc).
	ServerPID int
	// Progress receives the live status line; nil disables it.
	Progress io.Writer
	// Seed fixes the random sources. Default: time-based.
	Seed uint64
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	size, _ := ParseSizeDist("1024") // a constant that parses
	return Config{
		Protocol:       "json",
		Concurrency:    1,
		Duration:       10 * time.Second,
		Size:           size,
		Shards:         4,
		Groups:         16,
		Prefill:        10000,
		PrefillTimeout: 60 * time.Second,
		Grace:          10 * time.Second,
		Wait:           time.Second,
		PollInterval:   10 * time.Millisecond,
	}
}

// ErrBadConfig reports an invalid Config.
var ErrBadConfig = errors.New("bench: bad config")

// Validate checks the settings that do not depend on the scenario.
func (c *Config) Validate() error {
	switch {
	case c.Protocol != "json" && c.Protocol != "query":
		return fmt.Errorf("%w: --protocol must be json or query, not %q", ErrBadConfig, c.Protocol)
	case c.Protocol == "query" && c.Endpoint == "" && c.Region == "":
		return fmt.Errorf("%w: --protocol query against AWS needs --region", ErrBadConfig)
	case c.Concurrency < 1 || c.Concurrency > 4096:
		return fmt.Errorf("%w: --concurrency must be 1..4096", ErrBadConfig)
	case c.Consumers < 0 || c.Consumers > 4096:
		return fmt.Errorf("%w: --consumers must be 0..4096", ErrBadConfig)
	case c.Count < 0 || (c.Count == 0 && c.Duration <= 0):
		return fmt.Errorf("%w: need --duration > 0 or --count > 0", ErrBadConfig)
	case c.Warmup < 0 || c.Rate < 0:
		return fmt.Errorf("%w: --warmup and --rate must not be negative", ErrBadConfig)
	case len(c.Size.sizes) == 0:
		return fmt.Errorf("%w: --size missing", ErrBadConfig)
	case c.Batch < 0 || c.Shards < 0 || c.Groups < 0 || c.Prefill < 0:
		return fmt.Errorf("%w: --batch, --shards, --groups and --prefill must not be negative", ErrBadConfig)
	case c.Shards > 1000 || c.Groups > 100000:
		return fmt.Errorf("%w: --shards ≤ 1000 and --groups ≤ 100000", ErrBadConfig)
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		return fmt.Errorf("%w: --endpoint %q must start with http:// or https://", ErrBadConfig, c.Endpoint)
	}
	return nil
}

// Env holds the clients of one run.
type Env struct {
	Config  Config
	SQS     sqsAPI
	Kinesis *kinesis.Client
	conns   *connTracker
	http    *http.Client // every client's HTTP client
	// streamHTTP shares http's transport without its whole-request
	// timeout: a SubscribeToShard response streams for five minutes.
	streamHTTP *http.Client
}

// streamingClient is the per-call option of long-lived event streams
// (SubscribeToShard): the run's transport without a whole-request
// timeout, and a protocol (event-stream codec) of the stream's own.
//
// The SDK (smithy-go v1.28.9, aws/smithy-go#714) keeps one event-stream
// codec per client, with scratch state that every open stream's reader
// goroutine and every new call's initial-response decoding share without
// synchronisation; the race detector reports it as soon as a second
// subscription opens beside a first. A fresh protocol per call gives each
// stream its own codec.
func (e *Env) streamingClient(o *kinesis.Options) {
	if e.streamHTTP != nil {
		o.HTTPClient = e.streamHTTP
	}
	o.Protocol = awsjson.New11(schemas.Kinesis_20131202)
}

// Close ends every connection the run's clients opened, so idle keep-alive
// connections do not pile up across runs (a matrix makes hundreds).
func (e *Env) Close() {
	if e.conns != nil {
		e.conns.closeAll()
	}
}

// connTracker remembers open connections.
type connTracker struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	tracker *connTracker
}

func (c *trackedConn) Close() error {
	c.tracker.mu.Lock()
	delete(c.tracker.conns, c)
	c.tracker.mu.Unlock()
	return c.Conn.Close()
}

func (t *connTracker) dial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: conn, tracker: t}
		t.mu.Lock()
		t.conns[tc] = struct{}{}
		t.mu.Unlock()
		return tc, nil
	}
}

func (t *connTracker) closeAll() {
	t.mu.Lock()
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close() // best effort: the run is over
	}
}

// idleConnsSlack is added to the idle-connection pool beyond the number of
// workers, for setup calls and consumers.
const idleConnsSlack = 8

// NewEnv builds SDK clients for cfg: retries off (every error is counted),
// enough idle connections per host for every worker, and static dummy
// credentials when an endpoint is set and the environment names none.
func NewEnv(ctx context.Context, cfg Config) (*Env, error) {
	conns := cfg.Concurrency + cfg.Consumers + idleConnsSlack
	tracker := &connTracker{conns: map[*trackedConn]struct{}{}}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	// The SDK's BuildableClient, so that loading the configuration can add
	// a custom CA bundle (AWS_CA_BUNDLE) to its transport; the clients then
	// use that transport behind ownBodyTransport.
	buildable := awshttp.NewBuildableClient().
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = conns * 2
			t.MaxIdleConnsPerHost = conns
			t.IdleConnTimeout = 90 * time.Second
			// Every connection dials through the tracker, so Close can
			// end all of the run's connections.
			t.DialContext = tracker.dial(dialer)
		}).
		WithTimeout(60 * time.Second)

	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(buildable),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	region := cfg.Region
	if region == "" && cfg.Endpoint != "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		region = "us-east-1"
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if cfg.Endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("sluicebench", "sluicebench", "")))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("bench: load AWS config: %w", err)
	}
	loaded, ok := awsCfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		return nil, fmt.Errorf("bench: load AWS config: HTTP client replaced by a %T", awsCfg.HTTPClient)
	}
	httpClient := &http.Client{Transport: ownBodyTransport{base: loaded.GetTransport()}, Timeout: loaded.GetTimeout()}
	awsCfg.HTTPClient = httpClient
	env := &Env{Config: cfg, conns: tracker, http: httpClient, streamHTTP: &http.Client{Transport: httpClient.Transport}}
	env.Kinesis = kinesis.NewFromConfig(awsCfg, func(o *kinesis.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	switch cfg.Protocol {
	case "query":
		endpoint := cfg.Endpoint
		if endpoint == "" {
			endpoint = "https://sqs." + awsCfg.Region + ".amazonaws.com"
		}
		env.SQS = newSQSQuery(endpoint, awsCfg.Region, awsCfg.HTTPClient, awsCfg.Credentials)
	default:
		env.SQS = &sqsJSON{client: sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
			if cfg.Endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.Endpoint)
			}
		})}
	}
	return env, nil
}

// ownBodyTransport hands net/http its own in-memory copy of each SDK
// request body.
//
// Without it, aws-sdk-go-v2 (smithy-go v1.28.9) and Go 1.26's net/http race
// on a fast server: smithy-go wraps the request body in a reader that it
// closes as soon as the call's response arrives, while the transport's write
// loop may still be finishing the body (it reads on after Content-Length
// bytes to see EOF). The closed wrapper answers io.EOF, the transport takes
// that for a failed write and closes the connection under the response
// being read: the call fails with "use of closed network connection" on a
// 200 whose request the server applied. bench counted these as
// ConnectionError (about one GetRecords in a thousand); they are a client
// artefact, not a server failure. tests/crash works around the same race
// the same way (bufferedBodyTransport).
//
// Requests that carry GetBody (built by http.NewRequest over a
// strings.Reader, as the query-protocol client does) already give the
// transport a body nobody else closes, so they pass through uncopied.
type ownBodyTransport struct{ base http.RoundTripper }

func (t ownBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return t.base.RoundTrip(req)
	}
	var body []byte
	var err error
	if req.ContentLength > 0 {
		body = make([]byte, req.ContentLength)
		_, err = io.ReadFull(req.Body, body)
	} else {
		body, err = io.ReadAll(req.Body)
	}
	closeErr := req.Body.Close()
	if err != nil || closeErr != nil {
		return nil, fmt.Errorf("bench: buffering the request body: %w", errors.Join(err, closeErr))
	}
	own := req.Clone(req.Context())
	own.Body = io.NopCloser(bytes.NewReader(body))
	own.ContentLength = int64(len(body))
	own.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return t.base.RoundTrip(own)
}
