package noop

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestShardForIsEven checks that partition keys spread evenly over shards,
// as Kinesis' MD5 hash-range routing does.
func TestShardForIsEven(t *testing.T) {
	const shards, keys = 4, 40000
	var counts [shards]int
	for i := range keys {
		counts[shardFor("pk-"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+itoa(i), shards)]++
	}
	for i, c := range counts {
		if c < keys/shards*9/10 || c > keys/shards*11/10 {
			t.Errorf("shard %d got %d of %d keys", i, c, keys)
		}
	}
	if shardFor("k", 1) != 0 {
		t.Errorf("one shard must take every key")
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}

// TestUnknownActions checks that unsupported calls get a 400 in the shape
// of their protocol (so the SDK reports a code), and /health answers.
func TestUnknownActions(t *testing.T) {
	srv, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	}()
	tests := []struct {
		name, target, contentType, body string
		status                          int
		want                            string
	}{
		{"json sqs", "AmazonSQS.ListQueues", "application/x-amz-json-1.0", "{}", 400, `"__type":"InvalidAction"`},
		{"json kinesis", "Kinesis_20131202.SplitShard", "application/x-amz-json-1.1", "{}", 400, `"__type":"UnknownOperationException"`},
		{"bad json", "AmazonSQS.SendMessage", "application/x-amz-json-1.0", "{", 400, "InvalidParameterValue"},
		{"query", "", "application/x-www-form-urlencoded", "Action=ListQueues", 400, "<Code>InvalidAction</Code>"},
		{"query send", "", "application/x-www-form-urlencoded", "Action=SendMessage&MessageBody=a%3Cb", 200, "<MD5OfMessageBody>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL()+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			if tt.target != "" {
				req.Header.Set("X-Amz-Target", tt.target)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			var b strings.Builder
			if _, err := io.Copy(&b, resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || !strings.Contains(b.String(), tt.want) {
				t.Errorf("status %d body %q; want %d containing %q", resp.StatusCode, b.String(), tt.status, tt.want)
			}
		})
	}
	resp, err := http.Get(srv.URL() + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("health: %v %v", resp, err)
	}
	if resp != nil {
		_ = resp.Body.Close()
	}
	if got := srv.Stats().BadRequests; got != 4 {
		t.Errorf("BadRequests = %d, want 4", got)
	}
}
