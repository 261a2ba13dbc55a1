package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteTable renders results as an aligned human-readable table, followed
// by error details and notes.
func WriteTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttarget\tconc\tops/s\tmsgs/s\tMB/s\tlatency\tp50\tp90\tp99\tp99.9\tmax\terrors\tsrv µs/msg\t")
	for _, r := range results {
		srv := "-"
		if r.ServerCPUUsPerMsg > 0 {
			srv = fmt.Sprintf("%.1f", r.ServerCPUUsPerMsg)
		}
		msgs := r.MsgsPerSec
		if r.Messages == 0 {
			msgs = r.ReceivedPerSec
		}
		l := r.Latency
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n",
			r.Scenario, r.Target, r.Concurrency, formatCount(r.OpsPerSec), formatCount(msgs), r.MBPerSec, r.LatencySeries,
			formatMicros(float64(l.P50Us)), formatMicros(float64(l.P90Us)), formatMicros(float64(l.P99Us)),
			formatMicros(float64(l.P999Us)), formatMicros(float64(l.MaxUs)), r.Errors, srv)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	for _, r := range results {
		var lines []string
		names := make([]string, 0, len(r.Latencies))
		for name := range r.Latencies {
			if name != r.LatencySeries {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			l := r.Latencies[name]
			lines = append(lines, fmt.Sprintf("%s latency: p50 %s p99 %s max %s (%d samples)", name,
				formatMicros(float64(l.P50Us)), formatMicros(float64(l.P99Us)), formatMicros(float64(l.MaxUs)), l.Count))
		}
		if r.Received > 0 {
			lines = append(lines, fmt.Sprintf("received %d messages (%s/s)", r.Received, formatCount(r.ReceivedPerSec)))
		}
		for _, e := range r.ErrorsByCode {
			lines = append(lines, fmt.Sprintf("error %s ×%d: %s", e.Code, e.Count, e.Example))
		}
		if r.ServerCPUUnavailable != "" {
			lines = append(lines, "server CPU unavailable: "+r.ServerCPUUnavailable)
		}
		lines = append(lines, r.Notes...)
		if len(lines) == 0 {
			continue
		}
		if _, err := fmt.Fprintf(w, "%s @ %s:\n  %s\n", r.Scenario, r.Target, strings.Join(lines, "\n  ")); err != nil {
			return fmt.Errorf("bench: write table: %w", err)
		}
	}
	return nil
}

// WriteJSON writes one JSON object per result, one per line.
func WriteJSON(w io.Writer, results []*Result) error {
	enc := json.NewEncoder(w)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("bench: write JSON: %w", err)
		}
	}
	return nil
}
