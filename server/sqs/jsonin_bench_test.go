package sqs

import (
	"strings"
	"testing"
)

// BenchmarkDecodeFastJSON measures the fast decoders alone on the bodies
// SDKs send: a SendMessageBatch of ten 1 KiB messages with attributes, one
// whose bodies are JSON (escaped quotes), and a DeleteMessageBatch.
func BenchmarkDecodeFastJSON(b *testing.B) {
	entries := func(body string) string {
		var sb strings.Builder
		sb.WriteString(`{"QueueUrl":"http://localhost:4566/000000000000/q","Entries":[`)
		for i := range 10 {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(`{"Id":"m` + string(rune('0'+i)) + `","MessageBody":"` + body + `","MessageAttributes":{"k":{"DataType":"String","StringValue":"v"}}}`)
		}
		sb.WriteString(`]}`)
		return sb.String()
	}
	var del strings.Builder
	del.WriteString(`{"QueueUrl":"http://localhost:4566/000000000000/q","Entries":[`)
	for i := range 10 {
		if i > 0 {
			del.WriteByte(',')
		}
		del.WriteString(`{"Id":"m` + string(rune('0'+i)) + `","ReceiptHandle":"` + strings.Repeat("AbCd", 30) + `"}`)
	}
	del.WriteString(`]}`)
	cases := []struct {
		name string
		body string
		in   func() jsonFast
	}{
		{"SendBatch10x1KiB", entries(strings.Repeat("x", 1024)), func() jsonFast { return &sendMessageBatchInput{} }},
		{"SendBatch10xJSON", entries(strings.Repeat(`{\"key\":\"value\"},`, 60)), func() jsonFast { return &sendMessageBatchInput{} }},
		{"DeleteBatch10", del.String(), func() jsonFast { return &deleteMessageBatchInput{} }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				hold, ok := decodeFastJSON(body, c.in())
				if !ok {
					b.Fatal("fell back")
				}
				hold.release()
			}
		})
	}
}

// BenchmarkPlainPrefix scans a 1 KiB plain ASCII body, the fast decoder's
// per-body check.
func BenchmarkPlainPrefix(b *testing.B) {
	body := []byte(strings.Repeat("abcdefghij", 103))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if n := plainPrefix(body); n != len(body)&^7 {
			b.Fatalf("plainPrefix = %d of %d", n, len(body))
		}
	}
}
