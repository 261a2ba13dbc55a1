package kbacklog

import (
	"os"
	"testing"
)

// TestParseStatus checks the /proc/PID/status parser on real and broken
// images. Goal: the sampler reads the four memory fields exactly and
// rejects an image missing one or with a malformed size.
func TestParseStatus(t *testing.T) {
	const full = "Name:\tsluice\nVmPeak:\t 1000 kB\nVmHWM:\t   4096 kB\nVmRSS:\t   2048 kB\nRssAnon:\t    1024 kB\nRssFile:\t    1000 kB\nRssShmem:\t 24 kB\n"
	for _, tc := range []struct {
		name string
		in   string
		want procStatus
		ok   bool
	}{
		{"full", full, procStatus{vmRSS: 2048 << 10, rssAnon: 1024 << 10, rssFile: 1000 << 10, vmHWM: 4096 << 10}, true},
		{"missing RssFile", "VmHWM: 1 kB\nVmRSS: 1 kB\nRssAnon: 1 kB\n", procStatus{}, false},
		{"bad unit", "VmHWM: 1 MB\nVmRSS: 1 kB\nRssAnon: 1 kB\nRssFile: 1 kB\n", procStatus{}, false},
		{"negative", "VmHWM: -1 kB\nVmRSS: 1 kB\nRssAnon: 1 kB\nRssFile: 1 kB\n", procStatus{}, false},
		{"no newline at end", "VmHWM: 0 kB\nVmRSS: 0 kB\nRssAnon: 0 kB\nRssFile: 3 kB", procStatus{rssFile: 3 << 10}, true},
		{"empty", "", procStatus{}, false},
	} {
		got, err := parseStatus([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v, ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

// TestReadStatusSelf reads this process's own status. Goal: the parser
// accepts what the running kernel writes (the field names and units).
func TestReadStatusSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skipf("no /proc/self/status on this system: %v", err)
	}
	st, err := readStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.vmRSS <= 0 || st.vmHWM < st.vmRSS || st.rssAnon+st.rssFile > st.vmRSS {
		t.Errorf("implausible status of this process: %s", st)
	}
}

// FuzzParseStatus feeds arbitrary status images to the parser. Goal: it
// never panics, and what it accepts holds non-negative sizes.
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("VmHWM:\t4 kB\nVmRSS:\t2 kB\nRssAnon:\t1 kB\nRssFile:\t1 kB\n"))
	f.Add([]byte("VmRSS: 99999999999999999999 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStatus(b)
		if err == nil && (st.vmRSS < 0 || st.rssAnon < 0 || st.rssFile < 0 || st.vmHWM < 0) {
			t.Errorf("accepted negative sizes: %+v", st)
		}
	})
}
