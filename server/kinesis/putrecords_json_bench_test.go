package kinesis

import (
	"strings"
	"testing"
)

// BenchmarkDecodePutRecordsJSON measures the fast PutRecords decoder alone
// on a 500-record request of 1 KiB records.
func BenchmarkDecodePutRecordsJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"StreamName":"s","Records":[`)
	for i := range 500 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"Data":"` + strings.Repeat("QUJD", 341) + `AA==","PartitionKey":"key-` + itoa(i) + `"}`)
	}
	sb.WriteString(`]}`)
	body := []byte(sb.String())
	scratch := new(putRecordsScratch)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var in putRecordsInput
		if !decodePutRecordsJSON(body, &in, scratch) {
			b.Fatal("fell back")
		}
		scratch.reset()
	}
}
