package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// sampleResults builds results as a run would, from a recorder fed with
// known values, for two targets (one with a hostile name).
func sampleResults(t *testing.T) []*Result {
	t.Helper()
	var out []*Result
	for i, target := range []string{"noop", `<script>alert("x")</script>`} {
		rec := NewRecorder([]string{"send", "extra"})
		w := rec.Worker()
		start := time.Unix(1000, 0)
		rec.StartMeasuring(start)
		for j := range 1000 {
			w.Op(0, time.Duration(100+j*(i+1))*time.Microsecond, 1, 1024)
			w.Latency(1, time.Millisecond)
			if j%250 == 0 {
				rec.Tick(start.Add(time.Duration(j) * time.Millisecond))
			}
		}
		w.ErrorCode("ThrottlingException", "slow down & <retry>")
		rec.StopMeasuring(start.Add(time.Second))
		cfg := DefaultConfig()
		cfg.Target, cfg.Endpoint, cfg.ServerPID = target, "http://127.0.0.1:1", 1
		res := buildResult(&Scenario{Name: "sqs-send", Service: "sqs"}, cfg, &Workload{Notes: []string{"queue q"}},
			RunStats{Summary: rec.Summarize(), Measured: time.Second}, start, &cpuSampler{pid: 1, serverUsed: 2 * time.Millisecond})
		out = append(out, res)
	}
	return out
}

// TestWriteTable checks the table has a header, a row per result with its
// throughput and p99, and the error and note lines.
func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sampleResults(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"scenario", "msgs/s", "p99.9", "sqs-send", "noop", "1.0k", "error ThrottlingException ×1", "queue q", "extra latency", "2.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestWriteJSON checks one object per line with the documented snake_case
// field names (a rename would break consumers of --json).
func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	results := sampleResults(t)
	if err := WriteJSON(&b, results); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&b)
	n := 0
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		for _, key := range []string{"scenario", "target", "endpoint", "protocol", "mode", "concurrency", "size", "started_at", "duration_sec",
			"ops", "messages", "bytes", "errors", "ops_per_sec", "msgs_per_sec", "mb_per_sec", "latency_series", "latency", "latencies",
			"errors_by_code", "server_cpu_us_per_msg", "totals", "timeline"} {
			if _, ok := obj[key]; !ok {
				t.Errorf("object lacks %q", key)
			}
		}
		latency := obj["latency"].(map[string]any)
		for _, key := range []string{"p50_us", "p90_us", "p99_us", "p999_us", "max_us", "count"} {
			if _, ok := latency[key]; !ok {
				t.Errorf("latency lacks %q", key)
			}
		}
		if obj["msgs_per_sec"].(float64) != 1000 || obj["server_cpu_us_per_msg"].(float64) != 2 {
			t.Errorf("msgs_per_sec %v server_cpu_us_per_msg %v, want 1000 and 2", obj["msgs_per_sec"], obj["server_cpu_us_per_msg"])
		}
	}
	if n != len(results) {
		t.Errorf("%d objects, want %d", n, len(results))
	}
}

// TestWriteHTML checks the page is self-contained and well-formed: it
// parses as HTML, every inline SVG parses as XML, there are two charts per
// (scenario, concurrency) group, user-controlled names are escaped, and
// nothing is loaded from elsewhere.
func TestWriteHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, "test <report>", sampleResults(t)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script>") || strings.Contains(page, "<report>") {
		t.Errorf("unescaped names in the page")
	}
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var svgs, tables int
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "svg":
				svgs++
			case "table":
				tables++
			case "script", "link", "img", "iframe":
				t.Errorf("external or active element <%s>", n.Data)
			}
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href") && a.Val != "" {
					t.Errorf("<%s %s=%q> loads an external asset", n.Data, a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if svgs != 2 || tables != 1 {
		t.Errorf("%d svg and %d tables, want 2 and 1", svgs, tables)
	}
	for rest := page; ; {
		start := strings.Index(rest, "<svg")
		if start < 0 {
			break
		}
		end := strings.Index(rest[start:], "</svg>") + start + len("</svg>")
		dec := xml.NewDecoder(strings.NewReader(rest[start:end]))
		polylines := 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "polyline" {
				polylines++
			}
		}
		if polylines != 2 {
			t.Errorf("%d lines in a chart, want one per target (2)", polylines)
		}
		rest = rest[end:]
	}
}
