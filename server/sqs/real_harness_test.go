package sqs

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
)

// The integration tests ("real" tests) run the SQS service as cmd/sluice
// does: sqs.New over a real engine.DB in a temporary directory, behind the
// real server.New on 127.0.0.1:0, driven by aws-sdk-go-v2. Time-dependent
// semantics (retention, delay, visibility, dedup windows, the 60 s rules)
// use an offsetClock: real time plus an offset the test advances, so the
// engine sees minutes pass in an instant while long polls still run on
// real timers.

// offsetClock is the wall clock shifted by an adjustable offset.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) Now() time.Time {
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward by d.
func (c *offsetClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// realEnv is a running server over a real engine, restartable on the same
// data directory.
type realEnv struct {
	t      testing.TB
	dir    string
	clock  *offsetClock
	logger *slog.Logger
	// wrap, if set, wraps the engine backend (to observe calls).
	wrap func(backend) backend

	db     *engine.DB
	srv    *server.Server
	served chan error
	url    string
	client *sdk.Client
}

// newRealEnv opens an engine in a fresh temporary directory and serves SQS
// over it; everything is closed at the end of the test.
func newRealEnv(t testing.TB) *realEnv {
	t.Helper()
	e := &realEnv{
		t:      t,
		dir:    t.TempDir(),
		clock:  &offsetClock{},
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

// newRealEnvWrapped is newRealEnv with the engine backend wrapped by wrap.
func newRealEnvWrapped(t testing.TB, wrap func(backend) backend) *realEnv {
	t.Helper()
	e := &realEnv{
		t:      t,
		dir:    t.TempDir(),
		clock:  &offsetClock{},
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		wrap:   wrap,
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *realEnv) start() {
	t := e.t
	t.Helper()
	db, err := engine.Open(e.dir, &engine.Options{Clock: e.clock, Logger: e.logger})
	if err != nil {
		t.Fatalf("engine.Open: %v", err)
	}
	srv, err := server.New(db, server.Config{Logger: e.logger})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	svc := New(db, Options{Logger: e.logger})
	if e.wrap != nil {
		svc = newService(e.wrap(engineBackend{db}), Options{Logger: e.logger})
	}
	if err := srv.Register(svc); err != nil {
		t.Fatalf("Register: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	e.db, e.srv, e.served = db, srv, make(chan error, 1)
	go func() { e.served <- srv.Serve(ln) }()
	e.url = "http://" + ln.Addr().String()
	e.client = newClient(t, e.url, "us-east-1")
}

// stop shuts the server down and closes the engine (idempotent).
func (e *realEnv) stop() {
	if e.srv == nil {
		return
	}
	t := e.t
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-e.served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := e.db.Close(); err != nil {
		t.Errorf("engine Close: %v", err)
	}
	e.srv, e.db = nil, nil
}

// restart closes the server and the engine and opens both again on the same
// directory (and clock). The new server listens on a new port; queue URLs
// of the old one keep working since only their path names the queue.
func (e *realEnv) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

// createQueue creates a queue and returns its URL.
func (e *realEnv) createQueue(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.client.CreateQueue(context.Background(), &sdk.CreateQueueInput{QueueName: &name, Attributes: attrs})
	if err != nil {
		e.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

// send sends body to url and returns the message id.
func (e *realEnv) send(url, body string) string {
	e.t.Helper()
	out, err := e.client.SendMessage(context.Background(), &sdk.SendMessageInput{QueueUrl: &url, MessageBody: &body})
	if err != nil {
		e.t.Fatalf("SendMessage: %v", err)
	}
	return aws.ToString(out.MessageId)
}

// sendFIFO sends body to a FIFO queue.
func (e *realEnv) sendFIFO(url, body, group, dedup string) *sdk.SendMessageOutput {
	e.t.Helper()
	in := &sdk.SendMessageInput{QueueUrl: &url, MessageBody: &body, MessageGroupId: &group}
	if dedup != "" {
		in.MessageDeduplicationId = &dedup
	}
	out, err := e.client.SendMessage(context.Background(), in)
	if err != nil {
		e.t.Fatalf("SendMessage(FIFO): %v", err)
	}
	return out
}

// receive receives with the queue's default wait, all system attributes
// and all message attributes; visibility <= 0 means the queue default
// (aws-sdk-go-v2 never sends a zero VisibilityTimeout or WaitTimeSeconds:
// tests that need an explicit 0 use a queue whose default is 0).
func (e *realEnv) receive(url string, maxMessages int32, visibility int32) []types.Message {
	e.t.Helper()
	in := &sdk.ReceiveMessageInput{
		QueueUrl: &url, MaxNumberOfMessages: maxMessages, VisibilityTimeout: visibility,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"},
		MessageAttributeNames:       []string{"All"},
	}
	out, err := e.client.ReceiveMessage(context.Background(), in)
	if err != nil {
		e.t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

// deleteMessage deletes by receipt handle and fails the test on error.
func (e *realEnv) deleteMessage(url string, m types.Message) {
	e.t.Helper()
	if _, err := e.client.DeleteMessage(context.Background(), &sdk.DeleteMessageInput{QueueUrl: &url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		e.t.Fatalf("DeleteMessage: %v", err)
	}
}

// attrs returns the named queue attributes (All when none are named).
func (e *realEnv) attrs(url string, names ...string) map[string]string {
	e.t.Helper()
	list := []types.QueueAttributeName{"All"}
	if len(names) > 0 {
		list = list[:0]
		for _, n := range names {
			list = append(list, types.QueueAttributeName(n))
		}
	}
	out, err := e.client.GetQueueAttributes(context.Background(), &sdk.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: list})
	if err != nil {
		e.t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

// counts returns ApproximateNumberOfMessages, ...NotVisible and ...Delayed.
func (e *realEnv) counts(url string) [3]int {
	e.t.Helper()
	a := e.attrs(url, attrApproximateNumberOfMessages, attrApproximateNumberOfMessagesNotVisible, attrApproximateNumberOfMessagesDelayed)
	var c [3]int
	for i, name := range []string{attrApproximateNumberOfMessages, attrApproximateNumberOfMessagesNotVisible, attrApproximateNumberOfMessagesDelayed} {
		n, err := strconv.Atoi(a[name])
		if err != nil {
			e.t.Fatalf("attribute %s = %q: %v", name, a[name], err)
		}
		c[i] = n
	}
	return c
}

// arn returns the QueueArn of url.
func (e *realEnv) arn(url string) string {
	e.t.Helper()
	return e.attrs(url, attrQueueArn)[attrQueueArn]
}

// bodies returns the bodies of msgs in order.
func bodies(msgs []types.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = aws.ToString(m.Body)
	}
	return out
}

// sequenceNumber parses a FIFO SequenceNumber (a decimal up to 128 bits).
func sequenceNumber(t testing.TB, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.Sign() < 0 || n.BitLen() > 128 {
		t.Fatalf("SequenceNumber %q is not a 128-bit decimal", s)
	}
	return n
}

// sendDelayed is a SendMessageInput with a per-message delay.
func sendDelayed(url, body string, delaySeconds int32) *sdk.SendMessageInput {
	return &sdk.SendMessageInput{QueueUrl: &url, MessageBody: &body, DelaySeconds: delaySeconds}
}

// wireAnswer is one response of either protocol, reduced to what the AWS
// fidelity tests compare.
type wireAnswer struct {
	// Protocol is "json" or "query".
	Protocol string
	Status   int
	// Code and Message are the error's: x-amzn-query-error's code and the
	// "message" member in JSON, <Code> and <Message> in the query
	// protocol; "" on success.
	Code, Message string
	// JSONType is the JSON error's "__type".
	JSONType string
	// JSON is the decoded JSON body; XML the query body.
	JSON map[string]any
	XML  string
}

func (a wireAnswer) String() string {
	if a.Protocol == "json" {
		return fmt.Sprintf("json %d %s (__type %s): %v", a.Status, a.Code, a.JSONType, a.JSON)
	}
	return fmt.Sprintf("query %d %s", a.Status, a.XML)
}

// wireCall sends operation op to "/" over AWS JSON 1.0, with jsonIn as the
// request object, and over the query protocol, with form (Action added),
// and returns both answers: the way to check one behaviour in both
// protocols where the SDK (JSON only) cannot show the wire.
func (e *realEnv) wireCall(op string, jsonIn map[string]any, form url.Values) [2]wireAnswer {
	e.t.Helper()
	body, err := json.Marshal(jsonIn)
	if err != nil {
		e.t.Fatalf("%s: %v", op, err)
	}
	status, header, doc := jsonExchange(e.t, e.url, op, string(body))
	j := wireAnswer{Protocol: "json", Status: status, JSON: doc}
	if status != 200 {
		j.Code, _, _ = strings.Cut(header.Get("x-amzn-query-error"), ";")
		j.Message, _ = doc["message"].(string)
		j.JSONType, _ = doc["__type"].(string)
	}
	params := url.Values{"Action": {op}}
	for k, v := range form {
		params[k] = v
	}
	qs, xmlBody := queryCall(e.t, e.url, "/", params)
	q := wireAnswer{Protocol: "query", Status: qs, XML: xmlBody}
	if qs != 200 {
		var doc struct {
			Code    string `xml:"Error>Code"`
			Message string `xml:"Error>Message"`
		}
		if err := xml.Unmarshal([]byte(xmlBody), &doc); err != nil {
			e.t.Fatalf("%s: query error body: %v: %s", op, err, xmlBody)
		}
		q.Code, q.Message = doc.Code, doc.Message
	}
	return [2]wireAnswer{j, q}
}

// expectError fails the test unless both answers are the error
// (status, code, message).
func expectError(t *testing.T, what string, answers [2]wireAnswer, status int, code, message string) {
	t.Helper()
	for _, a := range answers {
		if a.Status != status || a.Code != code || a.Message != message {
			t.Errorf("%s: %s\nwant %d %s: %s", what, a, status, code, message)
		}
	}
}
