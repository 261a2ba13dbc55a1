package sqs

import "testing"

// TestParseQueueURL checks which queue URL forms resolve and to what.
func TestParseQueueURL(t *testing.T) {
	tests := []struct {
		in   string
		want queueAddress
		ok   bool
	}{
		{"http://localhost:4566/000000000000/q1", queueAddress{"000000000000", "q1"}, true},
		{"https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo", queueAddress{"123456789012", "orders.fifo"}, true},
		{"/123456789012/q", queueAddress{"123456789012", "q"}, true},
		{"http://h/123456789012/q/", queueAddress{"123456789012", "q"}, true},
		{"http://h/123456789012/q?x=1", queueAddress{"123456789012", "q"}, true},
		{"http://h/123456789012", queueAddress{}, false},
		{"http://h", queueAddress{}, false},
		{"q", queueAddress{}, false},
		{"", queueAddress{}, false},
		{"http://h/123/a/b", queueAddress{}, false},
		{"http://h//q", queueAddress{}, false},
		{"http://h/1/bad name", queueAddress{}, false},
		{"http://h/1/.fifo", queueAddress{}, false},
	}
	for _, tt := range tests {
		got, ok := parseQueueURL(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseQueueURL(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestParseQueueARN checks ARN parsing and that formatQueueARN round-trips.
func TestParseQueueARN(t *testing.T) {
	tests := []struct {
		in   string
		want queueARN
		ok   bool
	}{
		{"arn:aws:sqs:us-east-1:123456789012:q", queueARN{"aws", "us-east-1", "123456789012", "q"}, true},
		{"arn:aws-cn:sqs:cn-north-1:1:q.fifo", queueARN{"aws-cn", "cn-north-1", "1", "q.fifo"}, true},
		{"arn:aws:sns:us-east-1:1:q", queueARN{}, false},
		{"arn:aws:sqs:us-east-1:1", queueARN{}, false},
		{"arn:aws:sqs::1:q", queueARN{}, false},
		{"arn:aws:sqs:r:1:a:b", queueARN{}, false},
		{"aws:sqs:r:1:q", queueARN{}, false},
		{"", queueARN{}, false},
	}
	for _, tt := range tests {
		got, ok := parseQueueARN(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseQueueARN(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	arn := formatQueueARN("eu-west-1", "000000000000", "q")
	if got, ok := parseQueueARN(arn); !ok || got.Name != "q" || got.Region != "eu-west-1" {
		t.Errorf("round trip of %q = %+v, %v", arn, got, ok)
	}
}

// FuzzParseQueueAddress checks that URL and ARN parsing never panic and that
// whatever they accept renders back to an address that parses the same.
func FuzzParseQueueAddress(f *testing.F) {
	for _, s := range []string{"http://localhost:4566/000000000000/q1", "arn:aws:sqs:us-east-1:123456789012:q.fifo", "/1/x", "http://h//", "arn:::::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, ok := parseQueueURL(s); ok {
			back := string(appendQueueURL(nil, "http://h:1", a.Account, a.Name))
			if b, ok := parseQueueURL(back); !ok || b != a {
				t.Fatalf("URL %q parsed to %+v, re-rendered %q parsed to %+v, %v", s, a, back, b, ok)
			}
		}
		if a, ok := parseQueueARN(s); ok {
			back := formatQueueARN(a.Region, a.Account, a.Name)
			if b, ok := parseQueueARN(back); !ok || b.Name != a.Name || b.Account != a.Account || b.Region != a.Region {
				t.Fatalf("ARN %q parsed to %+v, re-rendered %q parsed to %+v, %v", s, a, back, b, ok)
			}
		}
	})
}
