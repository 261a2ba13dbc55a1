package crash

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluice-dev/sluice/internal/childserver"
)

var (
	flagSeed          = flag.Uint64("crash.seed", 0, "seed of the kill schedule and the workload (0: time-based)")
	flagStrictDeletes = flag.Bool("crash.strict-deletes", false,
		"fail on any acknowledged delete undone by a SIGKILL (engine/queue_state.go says a process crash loses nothing)")
)

const (
	sqsKillRounds = 4
	// sqsRoundMin and sqsRoundMax bound how long the load runs before each
	// SIGKILL (drawn from the seed).
	sqsRoundMin  = 700 * time.Millisecond
	sqsRoundMax  = 2000 * time.Millisecond
	sqsSenders   = 4
	sqsReceivers = 3
	// sqsGroupsPerSender is how many FIFO message groups each sender owns.
	sqsGroupsPerSender = 3
	// sqsPadMax bounds the random padding of a body, in bytes.
	sqsPadMax = 2048
	// sqsDeleteWindow is how long before a SIGKILL an acknowledged delete
	// may be lost and its message reappear. engine/queue_state.go: deletes
	// are committed to the index unsynced and "a process crash loses
	// nothing"; only a machine crash may lose the last stateSyncInterval
	// (100ms) plus one fsync. A SIGKILL is a process crash, so by the docs
	// the window is zero; this allowance (the machine-crash window with a
	// generous fsync) tolerates that one case while still counting and
	// logging every reappearance. Anything older than this is a failure.
	sqsDeleteWindow = 100*time.Millisecond + 400*time.Millisecond
)

// sqsVariant is one crash configuration.
type sqsVariant struct {
	name  string
	fifo  bool
	fsync string
	// visibility is the visibility timeout of the load receivers, in
	// seconds: short, so undeleted messages are redelivered during the run.
	visibility int32
	// deletePercent is the share of receive responses whose messages the
	// load receivers all delete; of the others, each message is deleted
	// with even odds. FIFO deletes more: an undeleted message blocks its
	// group until its visibility runs out.
	deletePercent int
}

// TestSQSCrash runs concurrent SQS senders (SendMessage and
// SendMessageBatch) and receivers (ReceiveMessage, DeleteMessage,
// DeleteMessageBatch) through aws-sdk-go-v2 (retries off) against a real
// `sluice serve`, SIGKILLs the server at seeded random points several
// times, restarting it on the same data directory, then drains the queue.
// Goal: process crashes lose no acknowledged send, corrupt nothing and
// invent nothing. It asserts: every acknowledged send whose message was
// never the target of a delete is present; every body's checksum holds and
// its MessageId (and FIFO SequenceNumber) is the one the send returned;
// every body was sent; an acknowledged delete is never undone unless it
// was acknowledged within sqsDeleteWindow of a kill (counted and logged).
// FIFO adds per-group order: no message is delivered while an earlier
// message of its group (acknowledged, never deleted) is still there, and
// the drain sees each group in send order. Requests that fail around a
// kill count as unacknowledged.
func TestSQSCrash(t *testing.T) {
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun: go test ./tests/crash -run TestSQSCrash -args -crash.seed=%d)", seed, seed)
	variants := []sqsVariant{
		{name: "standard", fsync: "always", visibility: 2, deletePercent: 50},
		{name: "fifo", fifo: true, fsync: "always", visibility: 1, deletePercent: 85},
		// never acknowledges after write(2) too, so a process crash must
		// not lose acknowledged sends either.
		{name: "standard-fsync-never", fsync: "never", visibility: 2, deletePercent: 50},
	}
	for i, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			runSQSCrash(t, v, seed+uint64(i))
		})
	}
}

func runSQSCrash(t *testing.T, v sqsVariant, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5ca1ab1e))
	srv := childserver.Start(t, childserver.Config{Dir: t.TempDir(), Fsync: v.fsync})
	client := newSQSClient(t, srv.Endpoint())
	ctx := context.Background()

	name := "crash-" + v.name
	in := &sqs.CreateQueueInput{QueueName: aws.String(name)}
	if v.fifo {
		in.QueueName = aws.String(name + ".fifo")
		in.Attributes = map[string]string{"FifoQueue": "true"}
	}
	created, err := client.CreateQueue(ctx, in)
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	h := &sqsHarness{
		t: t, client: client, queueURL: *created.QueueUrl, fifo: v.fifo, variant: v,
		ledger: newSQSLedger(), srv: srv,
	}
	h.up = make(chan struct{})
	close(h.up)

	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { // also when a Fatal ends the test early
		stopLoad()
		wg.Wait()
	}()
	for w := range sqsSenders {
		workerRNG := rand.New(rand.NewPCG(seed, uint64(w)+1))
		wg.Go(func() { h.sender(loadCtx, w, workerRNG) })
	}
	for r := range sqsReceivers {
		workerRNG := rand.New(rand.NewPCG(seed, uint64(r)+100))
		wg.Go(func() { h.receiver(loadCtx, workerRNG) })
	}

	for round := range sqsKillRounds {
		d := sqsRoundMin + time.Duration(rng.Int64N(int64(sqsRoundMax-sqsRoundMin)))
		timer := time.NewTimer(d)
		<-timer.C
		h.setDown()
		killedAt := time.Now()
		srv.Kill()
		h.ledger.kill(killedAt)
		s := h.ledger.snapshot()
		t.Logf("round %d: killed after %s; so far %d sends acked, %d deletes acked", round, d.Round(time.Millisecond), s.sendsAcked, s.deletesAcked)
		srv.Restart()
		h.setUp()
	}
	// Let the load run on the last process too, then stop it.
	timer := time.NewTimer(sqsRoundMin)
	<-timer.C
	stopLoad()
	wg.Wait()

	// The drain gets its own client: the load's connections were cut by
	// the kills and by stopLoad.
	h.client = newSQSClient(t, srv.Endpoint())
	h.drain(ctx)
	h.check(srv.Starts())
	srv.Stop()
}

func newSQSClient(t *testing.T, endpoint string) *sqs.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDCRASH", "secret", "")),
		config.WithRetryMaxAttempts(1),
		config.WithHTTPClient(&http.Client{Transport: bufferedBodyTransport{http.DefaultTransport.(*http.Transport).Clone()}}),
	)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		// Bodies are checked by the test (its own checksum and MD5), so a
		// corrupted body is a finding, not a receive error.
		o.DisableMessageChecksumValidation = true
	})
}

// bufferedBodyTransport hands net/http a private in-memory copy of each
// request body. Without it, aws-sdk-go-v2 (smithy-go v1.28.9) and Go
// 1.26's net/http race on a fast server: smithy-go closes its request body
// wrapper as soon as Do returns, while the transport's write loop still
// drains the body after sending Content-Length bytes; the closed
// wrapper's WriteTo returns io.EOF, the transport treats it as a write
// error and closes the connection under the response being read ("use of
// closed network connection" on a 200, after the server applied the
// request).
type bufferedBodyTransport struct{ base http.RoundTripper }

func (b bufferedBodyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return b.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	closeErr := req.Body.Close()
	if err != nil || closeErr != nil {
		return nil, fmt.Errorf("buffering the request body: %w", errors.Join(err, closeErr))
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return b.base.RoundTrip(req)
}

// sqsHarness drives one queue through kills.
type sqsHarness struct {
	t        *testing.T
	client   *sqs.Client
	queueURL string
	fifo     bool
	variant  sqsVariant
	ledger   *sqsLedger
	srv      *childserver.Server

	upMu sync.Mutex
	up   chan struct{} // closed while the server is serving
}

func (h *sqsHarness) setDown() {
	h.upMu.Lock()
	defer h.upMu.Unlock()
	h.up = make(chan struct{})
}

func (h *sqsHarness) setUp() {
	h.upMu.Lock()
	defer h.upMu.Unlock()
	close(h.up)
}

// waitUp blocks until the server serves; false once ctx is done.
func (h *sqsHarness) waitUp(ctx context.Context) bool {
	h.upMu.Lock()
	up := h.up
	h.upMu.Unlock()
	select {
	case <-up:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

// body renders a message body: fields, random padding and a checksum over
// everything before it.
func sqsBody(rng *rand.Rand, id, group string, index int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id=%s;g=%s;i=%d;pad=", id, group, index)
	for range rng.IntN(sqsPadMax) {
		b.WriteByte(byte('a' + rng.IntN(26)))
	}
	b.WriteByte(';')
	sum := sha256.Sum256([]byte(b.String()))
	b.WriteString("sum=")
	b.WriteString(hex.EncodeToString(sum[:8]))
	return b.String()
}

// parseSQSBody checks a body's checksum and returns its id, group and
// index.
func parseSQSBody(body string) (id, group string, index int, err error) {
	head, sum, ok := strings.Cut(body, ";sum=")
	if !ok {
		return "", "", 0, fmt.Errorf("no checksum in body %.60q", body)
	}
	want := sha256.Sum256([]byte(head + ";"))
	if sum != hex.EncodeToString(want[:8]) {
		return "", "", 0, fmt.Errorf("checksum mismatch in body %.60q (len %d)", body, len(body))
	}
	for _, field := range strings.Split(head, ";") {
		k, val, _ := strings.Cut(field, "=")
		switch k {
		case "id":
			id = val
		case "g":
			group = val
		case "i":
			index, err = strconv.Atoi(val)
		}
	}
	if id == "" || err != nil {
		return "", "", 0, fmt.Errorf("malformed body %.60q", body)
	}
	return id, group, index, nil
}

// sender sends messages, single and batched, until ctx is done. FIFO
// messages go to the sender's own groups, so each group's sends are
// sequential and their order is the order of index.
func (h *sqsHarness) sender(ctx context.Context, w int, rng *rand.Rand) {
	next := map[string]int{}
	for k := 0; h.waitUp(ctx); {
		n := 1
		if rng.IntN(2) == 0 {
			n = 2 + rng.IntN(9)
		}
		recs := make([]*sqsRecord, n)
		bodies := make([]string, n)
		for j := range recs {
			id := fmt.Sprintf("s%d-%d", w, k)
			k++
			group := ""
			index := 0
			if h.fifo {
				group = fmt.Sprintf("g%d-%d", w, rng.IntN(sqsGroupsPerSender))
				index = next[group]
				next[group]++
			}
			recs[j] = &sqsRecord{id: id, group: group, index: index}
			bodies[j] = sqsBody(rng, id, group, index)
		}
		h.ledger.attempt(recs)
		if n == 1 {
			in := &sqs.SendMessageInput{QueueUrl: &h.queueURL, MessageBody: &bodies[0]}
			if h.fifo {
				in.MessageGroupId, in.MessageDeduplicationId = &recs[0].group, &recs[0].id
			}
			out, err := h.client.SendMessage(ctx, in)
			if err != nil {
				h.ledger.sendFailed(recs, err)
				continue
			}
			h.ledger.sendAcked(recs[0], md5Hex(bodies[0]), out.MD5OfMessageBody, out.MessageId, out.SequenceNumber)
			continue
		}
		entries := make([]types.SendMessageBatchRequestEntry, n)
		for j := range entries {
			entries[j] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(j)), MessageBody: &bodies[j]}
			if h.fifo {
				entries[j].MessageGroupId, entries[j].MessageDeduplicationId = &recs[j].group, &recs[j].id
			}
		}
		out, err := h.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &h.queueURL, Entries: entries})
		if err != nil {
			h.ledger.sendFailed(recs, err)
			continue
		}
		done := make([]bool, n)
		for _, e := range out.Successful {
			j, err := strconv.Atoi(aws.ToString(e.Id))
			if err != nil || j < 0 || j >= n || done[j] {
				h.ledger.violation("SendMessageBatch returned a bad entry id %q", aws.ToString(e.Id))
				continue
			}
			done[j] = true
			h.ledger.sendAcked(recs[j], md5Hex(bodies[j]), e.MD5OfMessageBody, e.MessageId, e.SequenceNumber)
		}
		var failed []*sqsRecord
		for j := range recs {
			if !done[j] {
				failed = append(failed, recs[j])
			}
		}
		if len(failed) > 0 {
			h.ledger.sendFailed(failed, fmt.Errorf("SendMessageBatch: %d of %d entries failed: %+v", len(failed), n, out.Failed))
		}
	}
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// receiver receives messages and deletes most of them, singly or in a
// batch, until ctx is done.
func (h *sqsHarness) receiver(ctx context.Context, rng *rand.Rand) {
	for h.waitUp(ctx) {
		out, err := h.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: &h.queueURL, MaxNumberOfMessages: 10,
			VisibilityTimeout: h.variant.visibility, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			h.ledger.opFailed("receive", err)
			continue
		}
		var del []types.Message
		var delRecs []*sqsRecord
		recs := h.ledger.received(out.Messages)
		// Most responses are deleted whole; the rest message by message
		// with even odds, so deletes also come out of order.
		all := rng.IntN(100) < h.variant.deletePercent
		for i, m := range out.Messages {
			if recs[i] != nil && (all || rng.IntN(2) == 0) {
				del = append(del, m)
				delRecs = append(delRecs, recs[i])
			}
		}
		if len(del) == 0 {
			continue
		}
		h.ledger.deleteAttempt(delRecs)
		if len(del) == 1 || rng.IntN(2) == 0 {
			for i, m := range del {
				gen := h.ledger.generation()
				_, err := h.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &h.queueURL, ReceiptHandle: m.ReceiptHandle})
				if err != nil {
					h.ledger.opFailed("delete", err)
					continue
				}
				h.ledger.deleteAcked(delRecs[i], gen)
			}
			continue
		}
		entries := make([]types.DeleteMessageBatchRequestEntry, len(del))
		for i, m := range del {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		gen := h.ledger.generation()
		bout, err := h.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &h.queueURL, Entries: entries})
		if err != nil {
			h.ledger.opFailed("delete", err)
			continue
		}
		for _, e := range bout.Successful {
			i, err := strconv.Atoi(aws.ToString(e.Id))
			if err != nil || i < 0 || i >= len(delRecs) {
				h.ledger.violation("DeleteMessageBatch returned a bad entry id %q", aws.ToString(e.Id))
				continue
			}
			h.ledger.deleteAcked(delRecs[i], gen)
		}
		for _, e := range bout.Failed {
			h.ledger.opFailed("delete", fmt.Errorf("batch entry %s: %s %s", aws.ToString(e.Id), aws.ToString(e.Code), aws.ToString(e.Message)))
		}
	}
}

// drain receives (with a visibility that outlasts the drain) and deletes
// until the queue reports nothing visible, in flight or delayed and a long
// poll comes back empty. Messages in flight from before the last restart
// come back when their (short) load visibility runs out.
func (h *sqsHarness) drain(ctx context.Context) {
	t := h.t
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := h.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: &h.queueURL, MaxNumberOfMessages: 10, VisibilityTimeout: 120, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("drain: ReceiveMessage: %v\nserver log:\n%s", err, h.srv.LogTail(30))
		}
		if len(out.Messages) == 0 {
			attrs, err := h.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl: &h.queueURL, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
			})
			if err != nil {
				t.Fatalf("drain: GetQueueAttributes: %v", err)
			}
			left := 0
			for _, a := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"} {
				n, err := strconv.Atoi(attrs.Attributes[a])
				if err != nil {
					t.Fatalf("drain: attribute %s=%q: %v", a, attrs.Attributes[a], err)
				}
				left += n
			}
			if left == 0 {
				return
			}
			continue
		}
		h.ledger.drained(out.Messages)
		entries := make([]types.DeleteMessageBatchRequestEntry, len(out.Messages))
		for i, m := range out.Messages {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
		}
		bout, err := h.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &h.queueURL, Entries: entries})
		if err != nil {
			t.Fatalf("drain: DeleteMessageBatch: %v", err)
		}
		if len(bout.Failed) > 0 {
			t.Fatalf("drain: DeleteMessageBatch failed entries: %+v", bout.Failed)
		}
	}
	t.Fatalf("drain: queue not empty after 60s")
}

// check asserts the durability properties over the ledger.
func (h *sqsHarness) check(starts int) {
	t := h.t
	l := h.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	var reappearedTolerated, maybeDeletedPresent, maybeDeletedGone, unackedPresent, unackedGone int
	var reappearDeltas []string
	for _, r := range l.records {
		present := r.drained > 0
		switch {
		case r.sendAcked && !r.deleteAttempted && !present:
			l.violationLocked("lost: acknowledged send %s (MessageId %s, group %q index %d) never deleted, not in the queue; history %v; kills at %v",
				r.id, r.messageID, r.group, r.index, r.history, l.killsLocked())
		case r.deleteAcked && present:
			// The process that acknowledged the delete (the one the request
			// was sent to) was killed by kill number deleteAckedGen; the ack
			// can be recorded just after the kill's timestamp, when the
			// response was on its way.
			if r.deleteAckedGen > len(l.kills) {
				l.violationLocked("deleted message %s reappeared with no kill after its delete was acknowledged; history %v; kills at %v", r.id, r.history, l.killsLocked())
				continue
			}
			delta := max(0, l.kills[r.deleteAckedGen-1].Sub(r.deleteAckedAt))
			reappearDeltas = append(reappearDeltas, fmt.Sprintf("%s(%s)", r.id, delta.Round(time.Millisecond)))
			if delta > sqsDeleteWindow || *flagStrictDeletes {
				l.violationLocked("deleted message %s reappeared: its delete was acknowledged %s before the kill of its server (window %s, strict %v); history %v; kills at %v",
					r.id, delta, sqsDeleteWindow, *flagStrictDeletes, r.history, l.killsLocked())
				continue
			}
			reappearedTolerated++
		case r.deleteAttempted && !r.deleteAcked && present:
			maybeDeletedPresent++
		case r.deleteAttempted && !r.deleteAcked:
			maybeDeletedGone++
		case !r.sendAcked && present:
			unackedPresent++
		case !r.sendAcked && r.sendDone:
			unackedGone++
		}
	}
	if h.fifo {
		for g, idx := range l.drainOrder {
			if !sort.IntsAreSorted(idx) {
				l.violationLocked("group %s drained out of order: %v", g, idx)
			}
		}
	}
	s := l.snapshotLocked()
	t.Logf("%d server starts, %d kills; sends acked %d / failed %d; receives %d (failed %d); deletes acked %d / failed %d; drained %d (%d duplicates)",
		starts, len(l.kills), s.sendsAcked, s.sendsFailed, l.receives, l.opErrors["receive"], s.deletesAcked, l.opErrors["delete"], l.drainedTotal, l.drainDuplicates)
	t.Logf("unacknowledged sends: %d present, %d absent; unacknowledged deletes: %d still present, %d gone; acknowledged deletes undone by a kill (all within %s of it): %d, ack-to-kill %v",
		unackedPresent, unackedGone, maybeDeletedPresent, maybeDeletedGone, sqsDeleteWindow, reappearedTolerated, reappearDeltas)
	for kind, e := range l.firstErrors {
		t.Logf("first %s error: %v", kind, e)
	}
	if s.sendsAcked < 200 || s.deletesAcked < 50 {
		t.Errorf("too little load to judge: %d sends and %d deletes acknowledged", s.sendsAcked, s.deletesAcked)
	}
	if len(l.kills) != sqsKillRounds {
		t.Errorf("%d kills, want %d", len(l.kills), sqsKillRounds)
	}
	for _, v := range l.violations {
		t.Error(v)
	}
	if l.violationsDropped > 0 {
		t.Errorf("... and %d more violations", l.violationsDropped)
	}
}

// sqsRecord is what the test knows about one message it tried to send.
type sqsRecord struct {
	id    string
	group string // FIFO
	index int    // FIFO: position in its group

	sendDone, sendAcked bool
	messageID, seq      string

	deleteAttempted, deleteAcked bool
	deleteAckedAt                time.Time
	deleteAckedGen               int // server process that acknowledged the delete

	receives int
	drained  int
	// history lists what happened to the message, for failure reports.
	history []string
}

// sqsLedger records every operation and its outcome; all methods lock.
type sqsLedger struct {
	mu          sync.Mutex
	start       time.Time
	gen         int // server process number (1 = first start)
	records     map[string]*sqsRecord
	groups      map[string][]*sqsRecord // FIFO: by index
	groupFloor  map[string]int          // FIFO: records below are settled (deleted or never acknowledged)
	drainOrder  map[string][]int        // FIFO: indexes in drain order (first occurrences)
	kills       []time.Time
	sendsAcked  int
	sendsFailed int
	deletes     int
	receives    int
	opErrors    map[string]int
	firstErrors map[string]error

	drainedTotal, drainDuplicates int

	violations        []string
	violationsDropped int
}

const violationsMax = 30

func newSQSLedger() *sqsLedger {
	l := &sqsLedger{
		start: time.Now(), gen: 1,
		records: map[string]*sqsRecord{}, groups: map[string][]*sqsRecord{},
		groupFloor: map[string]int{}, drainOrder: map[string][]int{},
		opErrors: map[string]int{}, firstErrors: map[string]error{},
	}
	return l
}

func (l *sqsLedger) violation(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.violationLocked(format, args...)
}

func (l *sqsLedger) violationLocked(format string, args ...any) {
	if len(l.violations) >= violationsMax {
		l.violationsDropped++
		return
	}
	l.violations = append(l.violations, fmt.Sprintf(format, args...))
}

func (l *sqsLedger) attempt(recs []*sqsRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		l.records[r.id] = r
		if r.group != "" {
			l.groups[r.group] = append(l.groups[r.group], r)
		}
	}
}

func (l *sqsLedger) sendFailed(recs []*sqsRecord, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		r.sendDone = true
	}
	l.sendsFailed += len(recs)
	l.noteErrorLocked("send", err)
}

func (l *sqsLedger) sendAcked(r *sqsRecord, wantMD5 string, gotMD5, messageID, seq *string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.sendDone, r.sendAcked = true, true
	r.messageID, r.seq = aws.ToString(messageID), aws.ToString(seq)
	if aws.ToString(gotMD5) != wantMD5 {
		l.violationLocked("send of %s acknowledged with MD5OfMessageBody %s, want %s", r.id, aws.ToString(gotMD5), wantMD5)
	}
	l.sendsAcked++
}

func (l *sqsLedger) opFailed(kind string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.noteErrorLocked(kind, err)
}

func (l *sqsLedger) noteErrorLocked(kind string, err error) {
	l.opErrors[kind]++
	if l.firstErrors[kind] == nil {
		l.firstErrors[kind] = err
	}
}

func (l *sqsLedger) kill(at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kills = append(l.kills, at)
	l.gen++
}

// eventLocked appends to r's history: what, when (since the start) and
// in which server process.
func (l *sqsLedger) eventLocked(r *sqsRecord, format string, args ...any) {
	r.history = append(r.history, fmt.Sprintf("%s@%s/p%d", fmt.Sprintf(format, args...), time.Since(l.start).Round(time.Millisecond), l.gen))
}

// killsLocked renders the kill times since the start.
func (l *sqsLedger) killsLocked() []string {
	var out []string
	for _, k := range l.kills {
		out = append(out, k.Sub(l.start).Round(time.Millisecond).String())
	}
	return out
}

// verifyLocked checks one delivered message against what was sent and
// returns its record, or nil after recording a violation.
func (l *sqsLedger) verifyLocked(m types.Message, phase string) *sqsRecord {
	body := aws.ToString(m.Body)
	if got, want := aws.ToString(m.MD5OfBody), md5Hex(body); got != want {
		l.violationLocked("%s: MD5OfBody %s of message %s, want %s", phase, got, aws.ToString(m.MessageId), want)
	}
	id, group, index, err := parseSQSBody(body)
	if err != nil {
		l.violationLocked("%s: corrupt message %s: %v", phase, aws.ToString(m.MessageId), err)
		return nil
	}
	r := l.records[id]
	if r == nil || r.group != group || r.index != index {
		l.violationLocked("%s: message %s (body id %s) was never sent", phase, aws.ToString(m.MessageId), id)
		return nil
	}
	if r.sendAcked && r.messageID != aws.ToString(m.MessageId) {
		l.violationLocked("%s: message %s has MessageId %s, its send returned %s", phase, id, aws.ToString(m.MessageId), r.messageID)
	}
	if seq := m.Attributes[string(types.MessageSystemAttributeNameSequenceNumber)]; r.sendAcked && r.seq != seq {
		l.violationLocked("%s: message %s has SequenceNumber %q, its send returned %q", phase, id, seq, r.seq)
	}
	return r
}

// received records a load receive and, on FIFO queues, checks that no
// message is delivered while an earlier one of its group that was
// acknowledged and never targeted by a delete could still be delivered
// (earlier messages in the same response count as delivered first).
func (l *sqsLedger) received(msgs []types.Message) []*sqsRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := make([]*sqsRecord, len(msgs))
	inResponse := map[*sqsRecord]bool{}
	for i, m := range msgs {
		r := l.verifyLocked(m, "receive")
		recs[i] = r
		if r == nil {
			continue
		}
		l.receives++
		r.receives++
		l.eventLocked(r, "recv(%s)", m.Attributes["ApproximateReceiveCount"])
		inResponse[r] = true
		if r.group == "" {
			continue
		}
		g := l.groups[r.group]
		floor := l.groupFloor[r.group]
		for floor < len(g) && g[floor].settled() {
			floor++
		}
		l.groupFloor[r.group] = floor
		for j := floor; j < r.index; j++ {
			if e := g[j]; !e.settled() && !inResponse[e] {
				l.violationLocked("fifo order: %s (group %s index %d) delivered while index %d (acknowledged, never deleted) is still queued",
					r.id, r.group, r.index, j)
				break
			}
		}
	}
	return recs
}

// settled: the record can no longer be legitimately ahead of its
// successors (its send was not acknowledged, or a delete was attempted).
func (r *sqsRecord) settled() bool {
	return (r.sendDone && !r.sendAcked) || r.deleteAttempted
}

func (l *sqsLedger) deleteAttempt(recs []*sqsRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		r.deleteAttempted = true
		l.eventLocked(r, "del")
	}
}

// generation returns the number of the server process running now. A
// request sent now can only be answered by that process.
func (l *sqsLedger) generation() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// deleteAcked records an acknowledged delete. gen is the server process
// the request was sent to (from generation() before sending): the ack can
// be recorded after that process was killed and its successor started,
// when the response was already on its way.
func (l *sqsLedger) deleteAcked(r *sqsRecord, gen int) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r.deleteAcked, r.deleteAckedAt, r.deleteAckedGen = true, now, gen
	l.deletes++
	l.eventLocked(r, "delAck")
}

func (l *sqsLedger) drained(msgs []types.Message) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range msgs {
		l.drainedTotal++
		r := l.verifyLocked(m, "drain")
		if r == nil {
			continue
		}
		r.drained++
		l.eventLocked(r, "drain(%s)", m.Attributes["ApproximateReceiveCount"])
		if r.drained > 1 {
			l.drainDuplicates++
			continue
		}
		if r.group != "" {
			l.drainOrder[r.group] = append(l.drainOrder[r.group], r.index)
		}
	}
}

type sqsSnapshot struct{ sendsAcked, sendsFailed, deletesAcked int }

func (l *sqsLedger) snapshot() sqsSnapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snapshotLocked()
}

func (l *sqsLedger) snapshotLocked() sqsSnapshot {
	return sqsSnapshot{sendsAcked: l.sendsAcked, sendsFailed: l.sendsFailed, deletesAcked: l.deletes}
}
