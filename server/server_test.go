package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// fakeDB counts resets.
type fakeDB struct{ resets atomic.Int32 }

func (f *fakeDB) Reset(context.Context) error {
	f.resets.Add(1)
	return nil
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	srv  *Server
	db   *fakeDB
	url  string
	logs *syncBuffer
	done chan error
}

// startServer serves the given services on a random loopback port and
// shuts the server down when the test ends.
func startServer(t *testing.T, cfg Config, services ...*Service) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := &fakeDB{}
	srv, err := newServer(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range services {
		if err := srv.Register(svc); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv, db: db, url: "http://" + ln.Addr().String(), logs: logs, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-ts.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ts
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (ts *testServer) do(t *testing.T, method, path string, header map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func jsonHeaders(target string) map[string]string {
	return map[string]string{"X-Amz-Target": target, "Content-Type": awsproto.ContentTypeJSON10}
}

func formHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
}

const (
	fakeXMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"
	sigSQS    = "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=00"
	sigSNS    = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-west-2/sns/aws4_request, SignedHeaders=host, Signature=00"
)

var errNotFound = &awsproto.Error{Code: "AWS.SimpleQueueService.NonExistentQueue", JSONType: "com.amazonaws.sqs#QueueDoesNotExist",
	Message: "The specified queue does not exist.", HTTPStatus: 400, Sender: true}

// fakeSQS is a query-compatible service with both protocols, shaped like
// server/sqs. Its handlers echo what the router told them.
func fakeSQS(block func(*Request)) *Service {
	echo := func(req *Request, resp *Response) error {
		if req.Protocol == awsproto.ProtocolQuery {
			resp.Open("EchoResult")
			resp.Elem("Name", req.Form.Value("Name"))
			resp.Elem("Region", req.Region)
			resp.Elem("Service", req.Service)
			resp.Close("EchoResult")
			return nil
		}
		var in struct{ Name string }
		if err := req.Decode(&in); err != nil {
			return err
		}
		return resp.Encode(map[string]string{"Name": in.Name, "Region": req.Region, "Account": req.Account, "Host": req.Host})
	}
	handlers := map[string]HandlerFunc{
		"Echo":          echo,
		"AddPermission": func(req *Request, resp *Response) error { resp.Elem("Owner", "sqs"); return nil },
		"Missing":       func(*Request, *Response) error { return errNotFound },
		"Broken":        func(*Request, *Response) error { return errors.New("disk /secret/path failed") },
		"Panic":         func(*Request, *Response) error { panic("kaboom") },
		"NoOutput":      func(*Request, *Response) error { return nil },
		"Block": func(req *Request, resp *Response) error {
			block(req)
			resp.Elem("Done", "yes")
			return nil
		},
	}
	return &Service{
		Name: "sqs", TargetPrefix: "AmazonSQS", JSONVersion: "1.0", QueryCompatible: true, JSON: handlers,
		XMLNamespace: fakeXMLNS, XMLDeclaration: true, Query: handlers,
		OwnsPath: func(path string) bool { return strings.HasPrefix(path, "/000000000000/") },
	}
}

// fakeSNS is query-only and shares AddPermission with fakeSQS.
func fakeSNS() *Service {
	return &Service{
		Name: "sns", XMLNamespace: "http://sns.amazonaws.com/doc/2010-03-31/",
		Query: map[string]HandlerFunc{
			"AddPermission": func(req *Request, resp *Response) error { resp.Elem("Owner", "sns"); return nil },
			"Publish":       func(req *Request, resp *Response) error { return nil },
		},
	}
}

// fakeKinesis is JSON 1.1 with CBOR.
func fakeKinesis() *Service {
	return &Service{
		Name: "kinesis", TargetPrefix: "Kinesis_20131202", JSONVersion: "1.1", CBOR: true,
		JSON: map[string]HandlerFunc{
			"DescribeStream": func(req *Request, resp *Response) error {
				return &awsproto.Error{Code: "ResourceNotFoundException", Message: "Stream s not found", Sender: true}
			},
			"ListStreams": func(req *Request, resp *Response) error {
				return resp.Encode(map[string]any{"StreamNames": []string{"a"}, "HasMoreStreams": false})
			},
		},
	}
}

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func requestID(t *testing.T, r reply) string {
	t.Helper()
	id := r.header.Get("x-amzn-RequestId")
	if !requestIDPattern.MatchString(id) {
		t.Fatalf("x-amzn-RequestId = %q", id)
	}
	return id
}

// TestJSONProtocol checks a JSON request end to end: routing by
// X-Amz-Target, decoding, SigV4 region and account on the request, the
// response content type and body, and the request id header.
func TestJSONProtocol(t *testing.T) {
	ts := startServer(t, Config{}, fakeSQS(nil), fakeKinesis())
	h := jsonHeaders("AmazonSQS.Echo")
	h["Authorization"] = sigSQS
	r := ts.do(t, "POST", "/", h, `{"Name":"q1"}`)
	requestID(t, r)
	host := strings.TrimPrefix(ts.url, "http://")
	want := `{"Account":"000000000000","Host":"` + host + `","Name":"q1","Region":"eu-west-1"}`
	if r.status != 200 || r.body != want || r.header.Get("Content-Type") != awsproto.ContentTypeJSON10 {
		t.Fatalf("got %d %q %q, want 200 %q", r.status, r.header.Get("Content-Type"), r.body, want)
	}
	r = ts.do(t, "POST", "/", jsonHeaders("AmazonSQS.NoOutput"), "")
	if r.status != 200 || r.body != "{}" {
		t.Fatalf("no-output op: %d %q", r.status, r.body)
	}
	r = ts.do(t, "POST", "/", map[string]string{"X-Amz-Target": "Kinesis_20131202.ListStreams", "Content-Type": awsproto.ContentTypeJSON11}, "{}")
	if r.status != 200 || r.body != `{"HasMoreStreams":false,"StreamNames":["a"]}` || r.header.Get("Content-Type") != awsproto.ContentTypeJSON11 {
		t.Fatalf("kinesis: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
}

// TestQueryProtocol checks a query request end to end, byte for byte,
// including the request id in both the header and the XML.
func TestQueryProtocol(t *testing.T) {
	ts := startServer(t, Config{}, fakeSQS(nil))
	h := formHeaders()
	h["Authorization"] = sigSQS
	r := ts.do(t, "POST", "/", h, "Action=Echo&Version=2012-11-05&Name=a%26b")
	id := requestID(t, r)
	want := `<?xml version="1.0"?><EchoResponse xmlns="` + fakeXMLNS + `"><EchoResult><Name>a&amp;b</Name><Region>eu-west-1</Region>` +
		`<Service>sqs</Service></EchoResult><ResponseMetadata><RequestId>` + id + `</RequestId></ResponseMetadata></EchoResponse>`
	if r.status != 200 || r.body != want || r.header.Get("Content-Type") != "text/xml" {
		t.Fatalf("got %d %q\n%s\nwant\n%s", r.status, r.header.Get("Content-Type"), r.body, want)
	}
	// GET with the query string works the same, in the default region.
	r = ts.do(t, "GET", "/?Action=Echo&Name=x", nil, "")
	if r.status != 200 || !strings.Contains(r.body, "<Name>x</Name><Region>us-east-1</Region>") {
		t.Fatalf("GET: %d %s", r.status, r.body)
	}
}

// TestQueryRoutingOverlap checks how an Action two services share is
// routed: by SigV4 scope, then by OwnsPath, then to the first registered.
func TestQueryRoutingOverlap(t *testing.T) {
	ts := startServer(t, Config{}, fakeSQS(nil), fakeSNS())
	tests := []struct {
		name, path, auth, owner string
	}{
		{"scope sns", "/", sigSNS, "sns"},
		{"scope sqs", "/", sigSQS, "sqs"},
		{"queue url path", "/000000000000/q", "", "sqs"},
		{"first registered", "/", "", "sqs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := formHeaders()
			if tt.auth != "" {
				h["Authorization"] = tt.auth
			}
			r := ts.do(t, "POST", tt.path, h, "Action=AddPermission")
			if r.status != 200 || !strings.Contains(r.body, "<Owner>"+tt.owner+"</Owner>") {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	// An SNS-only action is found without a scope; SNS has no XML declaration.
	r := ts.do(t, "POST", "/", formHeaders(), "Action=Publish")
	if r.status != 200 || !strings.HasPrefix(r.body, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ResponseMetadata>`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// TestErrorShapes checks every error path byte for byte in each protocol:
// modeled errors, non-*Error errors and panics (InternalFailure, logged,
// internal text never sent), unknown operations, malformed bodies and
// signatures.
func TestErrorShapes(t *testing.T) {
	ts := startServer(t, Config{}, fakeSQS(nil), fakeKinesis())
	const internal = "The request processing has failed because of an unknown error, exception or failure."
	cborHeaders := map[string]string{"X-Amz-Target": "Kinesis_20131202.DescribeStream", "Content-Type": awsproto.ContentTypeCBOR11}
	tests := []struct {
		name        string
		method      string
		path        string
		header      map[string]string
		body        string
		status      int
		contentType string
		queryError  string
		want        string // with {id} for the request id
	}{
		{name: "json modeled", header: jsonHeaders("AmazonSQS.Missing"), body: "{}", status: 400, contentType: awsproto.ContentTypeJSON10,
			queryError: "AWS.SimpleQueueService.NonExistentQueue;Sender",
			want:       `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`},
		{name: "query modeled", header: formHeaders(), body: "Action=Missing", status: 400, contentType: "text/xml",
			want: `<?xml version="1.0"?><ErrorResponse xmlns="` + fakeXMLNS + `"><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>` +
				`<Message>The specified queue does not exist.</Message><Detail/></Error><RequestId>{id}</RequestId></ErrorResponse>`},
		{name: "json internal", header: jsonHeaders("AmazonSQS.Broken"), body: "{}", status: 500, contentType: awsproto.ContentTypeJSON10,
			queryError: "InternalFailure;Receiver", want: `{"__type":"InternalFailure","message":"` + internal + `"}`},
		{name: "query panic", header: formHeaders(), body: "Action=Panic", status: 500, contentType: "text/xml",
			want: `<?xml version="1.0"?><ErrorResponse xmlns="` + fakeXMLNS + `"><Error><Type>Receiver</Type><Code>InternalFailure</Code>` +
				`<Message>` + internal + `</Message><Detail/></Error><RequestId>{id}</RequestId></ErrorResponse>`},
		{name: "json unknown operation", header: jsonHeaders("AmazonSQS.Nope"), body: "{}", status: 400, contentType: awsproto.ContentTypeJSON10,
			queryError: "UnknownOperationException;Sender", want: `{"__type":"UnknownOperationException","message":"Operation AmazonSQS.Nope is not supported."}`},
		{name: "json unknown service", header: map[string]string{"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": awsproto.ContentTypeJSON11},
			body: "{}", status: 400, contentType: awsproto.ContentTypeJSON11,
			want: `{"__type":"UnknownOperationException","message":"Operation DynamoDB_20120810.ListTables is not supported."}`},
		{name: "json without target", header: map[string]string{"Content-Type": awsproto.ContentTypeJSON10}, body: "{}", status: 400,
			contentType: awsproto.ContentTypeJSON10, want: `{"__type":"UnknownOperationException","message":"The request has no X-Amz-Target header."}`},
		{name: "json malformed body", header: jsonHeaders("AmazonSQS.Echo"), body: `{"Name":`, status: 400, contentType: awsproto.ContentTypeJSON10,
			queryError: "SerializationException;Sender", want: `{"__type":"SerializationException","message":"Malformed JSON at offset 8."}`},
		{name: "json wrong type", header: jsonHeaders("AmazonSQS.Echo"), body: `{"Name":1}`, status: 400, contentType: awsproto.ContentTypeJSON10,
			queryError: "SerializationException;Sender", want: `{"__type":"SerializationException","message":"Unexpected value type number for field Name."}`},
		{name: "query unknown action", header: formHeaders(), body: "Action=Nope", status: 400, contentType: "text/xml",
			want: `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>` +
				`<Message>The action Nope is not valid for this endpoint.</Message><Detail/></Error><RequestId>{id}</RequestId></ErrorResponse>`},
		{name: "query unknown action in scope", header: map[string]string{"Authorization": sigSQS}, method: "GET", path: "/?Action=Nope", status: 400, contentType: "text/xml",
			want: `<?xml version="1.0"?><ErrorResponse xmlns="` + fakeXMLNS + `"><Error><Type>Sender</Type><Code>InvalidAction</Code>` +
				`<Message>The action Nope is not valid for this endpoint.</Message><Detail/></Error><RequestId>{id}</RequestId></ErrorResponse>`},
		{name: "no action (browser GET)", method: "GET", path: "/", status: 400, contentType: "text/xml",
			want: `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>MissingAction</Code>` +
				`<Message>The request must contain the parameter Action.</Message><Detail/></Error><RequestId>{id}</RequestId></ErrorResponse>`},
		{name: "malformed query", header: formHeaders(), body: "Action=Echo&Name=%zz", status: 400, contentType: "text/xml",
			want: `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>MalformedQueryString</Code>` +
				`<Message>The query string is malformed: invalid percent-encoding in the value of Name.</Message><Detail/></Error><RequestId>{id}</RequestId></ErrorResponse>`},
		{name: "malformed signature", header: map[string]string{"X-Amz-Target": "AmazonSQS.Echo", "Content-Type": awsproto.ContentTypeJSON10, "Authorization": "AWS4-HMAC-SHA256 garbage"},
			body: "{}", status: 400, contentType: awsproto.ContentTypeJSON10, queryError: "IncompleteSignature;Sender",
			want: `{"__type":"IncompleteSignatureException","message":"The request signature does not conform to AWS standards: malformed component 'garbage'."}`},
		{name: "cbor modeled", header: cborHeaders, body: "\xa0", status: 400, contentType: awsproto.ContentTypeCBOR11,
			want: string(awsproto.AppendCBORError(nil, &awsproto.Error{Code: "ResourceNotFoundException", Message: "Stream s not found"}))},
		{name: "cbor to a JSON-only service", header: map[string]string{"X-Amz-Target": "AmazonSQS.Echo", "Content-Type": awsproto.ContentTypeCBOR11},
			body: "\xa0", status: 400, contentType: awsproto.ContentTypeCBOR11,
			want: string(awsproto.AppendCBORError(nil, &awsproto.Error{Code: "SerializationException", Message: "This service does not accept application/x-amz-cbor-1.1."}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := tt.method, tt.path
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = "/"
			}
			r := ts.do(t, method, path, tt.header, tt.body)
			id := requestID(t, r)
			want := strings.ReplaceAll(tt.want, "{id}", id)
			if r.status != tt.status || r.body != want || r.header.Get("Content-Type") != tt.contentType {
				t.Fatalf("got %d %q\n%q\nwant %d %q\n%q", r.status, r.header.Get("Content-Type"), r.body, tt.status, tt.contentType, want)
			}
			if got := r.header.Get("x-amzn-query-error"); got != tt.queryError {
				t.Fatalf("x-amzn-query-error = %q, want %q", got, tt.queryError)
			}
			if tt.status == 500 && !strings.Contains(ts.logs.String(), id) {
				t.Fatalf("internal error not logged with request id %s:\n%s", id, ts.logs.String())
			}
		})
	}
	if logs := ts.logs.String(); !strings.Contains(logs, "disk /secret/path failed") || !strings.Contains(logs, "kaboom") || !strings.Contains(logs, "goroutine") {
		t.Fatalf("internal error text, panic value or stack missing from the log:\n%s", logs)
	}
}

// TestBodyLimit checks that a body over MaxRequestBodyBytes gets the AWS
// RequestEntityTooLarge error in the request's protocol, not fasthttp's
// plain-text page, and that a body at the limit is served.
func TestBodyLimit(t *testing.T) {
	ts := startServer(t, Config{MaxRequestBodyBytes: MinRequestBodyBytes}, fakeSQS(nil))
	body := strings.Repeat(" ", MinRequestBodyBytes)
	r := ts.do(t, "POST", "/", jsonHeaders("AmazonSQS.NoOutput"), body)
	if r.status != 200 || r.body != "{}" {
		t.Fatalf("body at the limit: %d %s", r.status, r.body)
	}
	// Over the limit: fasthttp rejects on Content-Length before reading the
	// body and closes the connection, so a client still streaming the body
	// may see a reset instead of the answer. Send only the headers.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AmazonSQS.NoOutput\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		awsproto.ContentTypeJSON10, MinRequestBodyBytes+1)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"__type":"RequestEntityTooLarge","message":"Request body exceeds the 16777216-byte limit."}`
	if resp.StatusCode != 413 || string(got) != want || resp.Header.Get("x-amzn-query-error") != "RequestEntityTooLarge;Sender" {
		t.Fatalf("over the limit: %d %q %q", resp.StatusCode, resp.Header.Get("x-amzn-query-error"), got)
	}
	requestID(t, reply{status: resp.StatusCode, header: resp.Header, body: string(got)})
}

// TestHealthAndMetrics checks /health and that /metrics counts requests by
// service, operation and code.
func TestHealthAndMetrics(t *testing.T) {
	ts := startServer(t, Config{}, fakeSQS(nil), fakeSNS())
	r := ts.do(t, "GET", "/health", nil, "")
	if r.status != 200 || r.body != `{"status":"ok","services":["sqs","sns"]}` || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("health: %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	ts.do(t, "POST", "/", jsonHeaders("AmazonSQS.Missing"), "{}")
	for range 3 { // the second and third go through the cached series
		ts.do(t, "POST", "/", jsonHeaders("AmazonSQS.Echo"), "{}")
	}
	ts.do(t, "POST", "/", jsonHeaders("AmazonSQS.NotAnOperation"), "{}")
	r = ts.do(t, "GET", "/metrics", nil, "")
	for _, want := range []string{
		`sluice_requests_total{code="AWS.SimpleQueueService.NonExistentQueue",operation="Missing",service="sqs"} 1`,
		`sluice_requests_total{code="OK",operation="Echo",service="sqs"} 3`,
		`sluice_requests_total{code="UnknownOperationException",operation="unknown",service="sqs"} 1`,
		`sluice_request_duration_seconds_count{operation="Echo",service="sqs"} 3`,
	} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("metrics lack %s:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "NotAnOperation") {
		t.Fatal("client-chosen operation name leaked into metric labels")
	}
}

// TestReset checks that POST /_sluice/reset resets the DB only with
// EnableReset, and is an ordinary (failing) AWS request otherwise.
func TestReset(t *testing.T) {
	on := startServer(t, Config{EnableReset: true}, fakeSQS(nil))
	r := on.do(t, "POST", "/_sluice/reset", nil, "")
	if r.status != 200 || r.body != `{"status":"ok"}` || on.db.resets.Load() != 1 {
		t.Fatalf("reset on: %d %s resets=%d", r.status, r.body, on.db.resets.Load())
	}
	off := startServer(t, Config{}, fakeSQS(nil))
	r = off.do(t, "POST", "/_sluice/reset", nil, "")
	if r.status != 400 || !strings.Contains(r.body, "<Code>MissingAction</Code>") || off.db.resets.Load() != 0 {
		t.Fatalf("reset off: %d %s resets=%d", r.status, r.body, off.db.resets.Load())
	}
}

// TestGracefulShutdown checks that Shutdown waits for an in-flight request
// (which then completes normally), cancels Request.Context for long polls,
// and refuses new connections afterwards.
func TestGracefulShutdown(t *testing.T) {
	entered := make(chan struct{}, 2)
	release := make(chan struct{})
	block := func(req *Request) {
		entered <- struct{}{}
		if req.Form.Value("Poll") == "1" {
			<-req.Context.Done() // a long poll ends when the server stops
			return
		}
		<-release
	}
	ts := startServer(t, Config{}, fakeSQS(block))
	replies := make(chan reply, 2)
	for _, poll := range []string{"0", "1"} {
		go func() { replies <- ts.do(t, "POST", "/", formHeaders(), "Action=Block&Poll="+poll) }()
		<-entered
	}
	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.srv.Shutdown(context.Background()) }()
	// The long poll is released by the cancellation, the slow request is not.
	if r := <-replies; r.status != 200 || !strings.Contains(r.body, "<Done>yes</Done>") {
		t.Fatalf("long poll: %d %s", r.status, r.body)
	}
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned (%v) while a request was in flight", err)
	default:
	}
	close(release)
	if r := <-replies; r.status != 200 || !strings.Contains(r.body, "<Done>yes</Done>") {
		t.Fatalf("drained request: %d %s", r.status, r.body)
	}
	if err := <-shutdown; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(ts.url + "/health"); err == nil {
		t.Fatal("server still accepts connections after Shutdown")
	}
}

// TestRegisterValidation checks that Register rejects malformed and
// conflicting services and registration after Serve.
func TestRegisterValidation(t *testing.T) {
	srv, err := newServer(&fakeDB{}, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := func(*Request, *Response) error { return nil }
	bad := []*Service{
		{Name: "", JSON: map[string]HandlerFunc{"A": h}, TargetPrefix: "P", JSONVersion: "1.0"},
		{Name: "x", JSON: map[string]HandlerFunc{"A": h}},
		{Name: "x", JSON: map[string]HandlerFunc{"A": h}, TargetPrefix: "P", JSONVersion: "2.0"},
		{Name: "x", Query: map[string]HandlerFunc{"A": h}},
		{Name: "x", TargetPrefix: "P", JSONVersion: "1.0"},
		{Name: "x", JSON: map[string]HandlerFunc{"A": nil}, TargetPrefix: "P", JSONVersion: "1.0"},
	}
	for i, svc := range bad {
		if err := srv.Register(svc); err == nil {
			t.Errorf("service %d accepted: %+v", i, svc)
		}
	}
	if err := srv.Register(fakeSQS(nil)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Register(fakeSQS(nil)); err == nil {
		t.Fatal("duplicate service accepted")
	}
	other := fakeKinesis()
	other.TargetPrefix = "AmazonSQS"
	if err := srv.Register(other); err == nil {
		t.Fatal("duplicate target prefix accepted")
	}
}

// TestConfig checks defaults and the validation limits.
func TestConfig(t *testing.T) {
	var c Config
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":4566" || c.AccountID != "000000000000" || c.MaxRequestBodyBytes != 16<<20 {
		t.Fatalf("defaults: %+v", c)
	}
	for _, mutate := range []func(*Config){
		func(c *Config) { c.AccountID = "123" },
		func(c *Config) { c.MaxRequestBodyBytes = 1 << 20 },
		func(c *Config) { c.WriteTimeout = 1 },
		func(c *Config) { c.ReadTimeout = 1 },
		func(c *Config) { c.Hostname = "http://x" },
	} {
		c := Config{}
		c.EnsureDefaults()
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v accepted (%v)", c, err)
		}
	}
}
