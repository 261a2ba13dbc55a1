package sqs

import (
	"crypto/md5"
	"encoding/hex"
	"testing"

	"github.com/sluice-dev/sluice/engine"
)

// TestMD5OfAttributes checks the SQS attribute digest against known vectors:
// one published with a real SQS response (SellerName), and others computed
// by an independent implementation of the documented length-prefixed
// encoding (moto's), covering binary values, custom types and ordering.
func TestMD5OfAttributes(t *testing.T) {
	tests := []struct {
		name  string
		attrs []engine.MessageAttribute
		want  string
	}{
		{"none", nil, ""},
		{"published vector", []engine.MessageAttribute{{Name: "SellerName", DataType: "String", StringValue: "Example Store"}}, "cd28f3b68aeee4b2eac9c66f2f694b58"},
		{"sorted by name", []engine.MessageAttribute{
			{Name: "Region", DataType: "String", StringValue: "WA"},
			{Name: "City", DataType: "String", StringValue: "Any City"},
			{Name: "PostalCode", DataType: "String", StringValue: "99065"},
		}, "dcf9a9f69fefb3eb52111520ee5c6d3f"},
		{"binary, number and custom types", []engine.MessageAttribute{
			{Name: "b", DataType: "Binary", BinaryValue: []byte{0, 1, 2, 255}},
			{Name: "a.x", DataType: "Number.int", StringValue: "42"},
			{Name: "Z", DataType: "String.custom", StringValue: "ünï"},
		}, "dcda597120b335d3f298a80f4eb318eb"},
		{"system attribute", []engine.MessageAttribute{{Name: "AWSTraceHeader", DataType: "String", StringValue: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}}, "5ae4d5d7636402d80f4eb6d213245a88"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := md5OfAttributes(tt.attrs); got != tt.want {
				t.Errorf("md5OfAttributes = %q, want %q", got, tt.want)
			}
		})
	}
}

// md5HexString returns the lowercase hex MD5 of s, what tests expect.
func md5HexString(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestMD5OfBody checks the body digest is the hex MD5 of the UTF-8 bytes,
// as both formats write it.
func TestMD5OfBody(t *testing.T) {
	sum := md5SumString("hello wörld")
	const want = "8c6e15df743a0380aaa26e5741794d7b"
	j := out{}
	j.hexDigest("MD5OfBody", sum[:])
	if got := string(j.B); got != `"MD5OfBody":"`+want+`"` {
		t.Errorf("JSON: %s", got)
	}
	x := out{xml: true}
	x.hexDigest("MD5OfBody", sum[:])
	if got := string(x.B); got != `<MD5OfBody>`+want+`</MD5OfBody>` {
		t.Errorf("XML: %s", got)
	}
	m := engine.ReceivedMessage{Body: []byte("hello wörld")} // no stored digest
	if d := bodyDigest(&m); d != sum {
		t.Errorf("bodyDigest without a stored digest = %x", d)
	}
}
