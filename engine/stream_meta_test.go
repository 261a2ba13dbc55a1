package engine

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// fullTestMeta returns metadata with every field set: split and merged
// shards, tags, metrics, consumers and UpdateShardCount history.
func fullTestMeta(t testing.TB) *streamMeta {
	m := newTestMeta(3)
	m.EncryptionType, m.KeyID = "KMS", "alias/aws/kinesis"
	m.EnhancedMetrics = []string{"IncomingBytes", "OutgoingRecords"}
	m.Tags = map[string]string{"env": "test", "team": "", "ü": "ß"}
	plan, err := m.planSplit(0, Uint128{Hi: 1 << 40}, streamTestEpoch.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	m.apply(plan, func(int) uint64 { return 42 }, streamTestEpoch.Add(time.Minute))
	plan, err = m.planMerge(1, 2, streamTestEpoch.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	m.apply(plan, func(int) uint64 { return 1 }, streamTestEpoch.Add(2*time.Minute))
	m.Consumers = []StreamConsumer{{Name: "c1", Created: streamTestEpoch, Status: ConsumerActive}}
	m.ShardCountUpdates = []time.Time{streamTestEpoch.Add(3 * time.Minute)}
	if err := m.validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// pendingTestMeta is fullTestMeta with an UPDATING transition pending
// (version 2 encoding).
func pendingTestMeta(t testing.TB) *streamMeta {
	m := fullTestMeta(t)
	m.Status, m.StatusUntil = StreamUpdating, streamTestEpoch.Add(time.Hour)
	return m
}

// metaEqual compares decoded metadata, treating times by instant.
func metaEqual(a, b *streamMeta) bool {
	return bytes.Equal(encodeStreamMeta(nil, a), encodeStreamMeta(nil, b)) &&
		a.Created.Equal(b.Created) && reflect.DeepEqual(a.Tags, b.Tags) && len(a.Shards) == len(b.Shards)
}

// TestStreamMetaRoundTrip checks that encode→decode preserves every field
// of fully populated metadata, and of minimal metadata.
func TestStreamMetaRoundTrip(t *testing.T) {
	for name, m := range map[string]*streamMeta{"full": fullTestMeta(t), "minimal": newTestMeta(1)} {
		t.Run(name, func(t *testing.T) {
			enc := encodeStreamMeta(nil, m)
			got, err := decodeStreamMeta(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !metaEqual(m, got) {
				t.Fatalf("round trip changed metadata:\n%+v\n%+v", m, got)
			}
			for i := range m.Shards {
				a, b := m.Shards[i], got.Shards[i]
				if a.Index != b.Index || a.HashStart != b.HashStart || a.HashEnd != b.HashEnd || a.EndSeq != b.EndSeq ||
					!a.Created.Equal(b.Created) || !a.Closed.Equal(b.Closed) || a.Parent != b.Parent || a.AdjacentParent != b.AdjacentParent {
					t.Fatalf("shard %d: %+v != %+v", i, a, b)
				}
			}
		})
	}
}

// TestStreamMetaDecodeRejects checks that truncations, trailing bytes, a
// bad version and invariant violations (gap in open shards) are reported as
// corruption rather than accepted or panicking.
func TestStreamMetaDecodeRejects(t *testing.T) {
	enc := encodeStreamMeta(nil, fullTestMeta(t))
	for n := range len(enc) {
		if _, err := decodeStreamMeta(enc[:n]); !errors.Is(err, errStreamMetaCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	if _, err := decodeStreamMeta(append(bytes.Clone(enc), 0)); !errors.Is(err, errStreamMetaCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	bad := bytes.Clone(enc)
	bad[1] = 99
	if _, err := decodeStreamMeta(bad); !errors.Is(err, errStreamMetaCorrupt) {
		t.Fatalf("bad version: %v", err)
	}
	m := newTestMeta(2)
	m.Shards[1].HashStart = m.Shards[1].HashStart.add1() // gap between the two open shards
	if _, err := decodeStreamMeta(encodeStreamMeta(nil, m)); !errors.Is(err, errStreamMetaCorrupt) {
		t.Fatalf("gap in open shards: %v", err)
	}
}

// FuzzDecodeStreamMeta checks that the metadata decoder never panics on
// arbitrary input and that whatever it accepts re-encodes to something that
// decodes to the same metadata. Seeds: valid encodings (committed corpus in
// testdata/fuzz/FuzzDecodeStreamMeta).
func FuzzDecodeStreamMeta(f *testing.F) {
	f.Add(encodeStreamMeta(nil, newTestMeta(1)))
	f.Add(encodeStreamMeta(nil, fullTestMeta(f)))
	f.Add(encodeStreamMeta(nil, pendingTestMeta(f)))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeStreamMeta(b)
		if err != nil {
			if !errors.Is(err, errStreamMetaCorrupt) {
				t.Fatalf("error not marked corrupt: %v", err)
			}
			return
		}
		again, err := decodeStreamMeta(encodeStreamMeta(nil, m))
		if err != nil {
			t.Fatalf("re-encoding of accepted metadata rejected: %v", err)
		}
		if !metaEqual(m, again) {
			t.Fatal("re-encoding changed metadata")
		}
	})
}

// TestStreamMetaFuzzCorpus regenerates the committed seed corpus of
// FuzzDecodeStreamMeta when SLUICE_WRITE_CORPUS=1; otherwise it checks the
// committed files still decode (so a format change is noticed).
func TestStreamMetaFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeStreamMeta")
	seeds := map[string][]byte{
		"minimal": encodeStreamMeta(nil, newTestMeta(1)),
		"full":    encodeStreamMeta(nil, fullTestMeta(t)),
		"pending": encodeStreamMeta(nil, pendingTestMeta(t)),
	}
	for name, b := range seeds {
		path := filepath.Join(dir, name)
		if os.Getenv("SLUICE_WRITE_CORPUS") == "1" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			content := "go test fuzz v1\n[]byte(" + quoteBytes(b) + ")\n"
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("seed corpus file missing (run with SLUICE_WRITE_CORPUS=1): %v", err)
		}
		if _, err := decodeStreamMeta(b); err != nil {
			t.Fatalf("seed %s does not decode: %v", name, err)
		}
	}
}

func quoteBytes(b []byte) string {
	const hex = "0123456789abcdef"
	out := []byte{'"'}
	for _, c := range b {
		out = append(out, '\\', 'x', hex[c>>4], hex[c&15])
	}
	return string(append(out, '"'))
}
