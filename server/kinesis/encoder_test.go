package kinesis

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/engine"
)

// TestStrBytes checks that strBytes appends plain text as is and escapes
// anything that needs it, producing valid JSON either way.
func TestStrBytes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"49680612938902706756617184080926734321507451390757175298", `"49680612938902706756617184080926734321507451390757175298"`},
		{"shardId-000000000001", `"shardId-000000000001"`},
		{"", `""`},
		{`a"b\c`, `"a\"b\\c"`},
		{"tab\there", `"tab\there"`},
		{"é", `"é"`},
	} {
		var e encoder
		e.strBytes([]byte(tc.in))
		var back string
		if string(e.b) != tc.want || json.Unmarshal(e.b, &back) != nil || back != tc.in {
			t.Errorf("strBytes(%q) = %s, want %s", tc.in, e.b, tc.want)
		}
	}
}

// TestWriteRecordAllocs asserts the GetRecords and SubscribeToShard hot
// path costs no allocation per record once the output buffer has room:
// data goes from the engine's borrowed slice straight into the buffer.
func TestWriteRecordAllocs(t *testing.T) {
	info := &engine.StreamInfo{Name: "s", Created: time.Unix(1_700_000_000, 0), Shards: []engine.ShardInfo{{Index: 0}}}
	rec := &engine.StreamRecord{Seq: 12345, Arrival: time.UnixMilli(1_700_000_000_123), PartitionKey: "partition-key", Data: make([]byte, 1024)}
	for _, cbor := range []bool{false, true} {
		e := encoder{b: make([]byte, 0, 64<<10), cbor: cbor}
		var seqBuf [64]byte
		allocs := testing.AllocsPerRun(100, func() {
			e.b = e.b[:0]
			e.elem()
			writeRecord(&e, info, 0, rec, false, &seqBuf)
		})
		if allocs != 0 {
			t.Errorf("cbor=%v: %v allocations per record", cbor, allocs)
		}
	}
}

// TestRecordSizeMax checks that recordSizeMax bounds what writeRecord
// writes for every record, in both encodings, including the cases that
// make JSON longest (partition keys of control characters or invalid
// UTF-8, extreme sequence numbers and timestamps, KMS), and that
// answerSizeLikely bounds a whole records array whose keys need no
// escapes. GetRecords sizes its output buffer from these bounds once, so
// an underestimate would regrow (and copy) a 14 MB answer. Method: a
// table of edge cases plus seeded random records.
func TestRecordSizeMax(t *testing.T) {
	info := &engine.StreamInfo{Name: "s", Created: time.Unix(1<<36-1, 0), Shards: []engine.ShardInfo{{Index: 0}}}
	type rec struct {
		name    string
		seq     uint64
		arrival time.Time
		key     string
		data    int
		kms     bool
	}
	cases := []rec{
		{name: "empty", key: "k"},
		{name: "padding1", key: "k", data: 1},
		{name: "padding2", key: "k", data: 2},
		{name: "padding3", key: "k", data: 3},
		{name: "max", seq: math.MaxUint64, arrival: time.UnixMilli(math.MaxInt64), key: strings.Repeat("\x01", 256), data: 1 << 20, kms: true},
		{name: "negative time", seq: math.MaxUint64, arrival: time.UnixMilli(math.MinInt64 + 1), key: strings.Repeat("\xff", 256), kms: true},
		{name: "quotes", key: strings.Repeat(`"\`, 128), data: 10},
		{name: "unicode", key: strings.Repeat("é", 128), data: 100},
	}
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range 200 {
		key := make([]byte, 1+rng.IntN(256))
		for j := range key {
			key[j] = byte(rng.Uint32())
		}
		cases = append(cases, rec{name: "random" + strconv.Itoa(i), seq: rng.Uint64(), arrival: time.UnixMilli(rng.Int64()),
			key: string(key), data: rng.IntN(5000), kms: rng.IntN(2) == 0})
	}
	for _, cbor := range []bool{false, true} {
		for _, tc := range cases {
			e := encoder{cbor: cbor}
			var seqBuf [64]byte
			r := &engine.StreamRecord{Seq: tc.seq, Arrival: tc.arrival, PartitionKey: tc.key, Data: make([]byte, tc.data)}
			e.b = append(e.b, '[', '{') // elem writes a comma after a previous element
			before := len(e.b)
			e.elem()
			writeRecord(&e, info, math.MaxInt32, r, tc.kms, &seqBuf)
			if got, bound := len(e.b)-before, recordSizeMax(&e, tc.data, len(tc.key)); got > bound {
				t.Errorf("cbor=%v %s: wrote %d bytes, bound %d", cbor, tc.name, got, bound)
			}
		}
	}
	// A records array of plain keys within the byte budget.
	for _, cbor := range []bool{false, true} {
		for _, size := range []int{0, 1, 2, 3, 100, 1024, 4096} {
			e := encoder{cbor: cbor}
			var seqBuf [64]byte
			n, budget := 0, 0
			for budget+size+256 <= 1<<20 && n < 1000 {
				r := &engine.StreamRecord{Seq: math.MaxUint64, Arrival: time.UnixMilli(math.MaxInt64),
					PartitionKey: strings.Repeat("k", 256), Data: make([]byte, size)}
				e.elem()
				writeRecord(&e, info, math.MaxInt32, r, true, &seqBuf)
				n++
				budget += size + 256
			}
			if bound := answerSizeLikely(&e, n, budget); len(e.b) > bound {
				t.Errorf("cbor=%v: %d records of %d bytes wrote %d bytes, likely bound %d", cbor, n, size, len(e.b), bound)
			}
		}
	}
}
