package kinesis

import (
	"encoding/json"
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
