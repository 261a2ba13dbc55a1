package awsproto

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestParseAuthorization checks the SigV4 header parser on headers the SDKs
// send (botocore's ", " separators, compact ",", SigV4a's regionless scope)
// and on malformed ones.
func TestParseAuthorization(t *testing.T) {
	sig64 := strings.Repeat("ab", 32)
	tests := []struct {
		name, header string
		want         Signature
		ok           bool
	}{
		{"botocore", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/eu-west-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" + sig64,
			Signature{Algorithm: AlgorithmSigV4, Credential: Credential{"AKIAIOSFODNN7EXAMPLE", "20240101", "eu-west-1", "sqs"},
				SignedHeaders: "content-type;host;x-amz-date", Signature: sig64}, true},
		{"compact and reordered", "AWS4-HMAC-SHA256 Signature=" + sig64 + ",SignedHeaders=host,Credential=test/20240101/us-west-2/kinesis/aws4_request",
			Signature{Algorithm: AlgorithmSigV4, Credential: Credential{"test", "20240101", "us-west-2", "kinesis"},
				SignedHeaders: "host", Signature: sig64}, true},
		{"sigv4a", "AWS4-ECDSA-P256-SHA256 Credential=AKID/20240101/sns/aws4_request, SignedHeaders=host;x-amz-region-set, Signature=3045",
			Signature{Algorithm: AlgorithmSigV4A, Credential: Credential{"AKID", "20240101", "", "sns"},
				SignedHeaders: "host;x-amz-region-set", Signature: "3045"}, true},
		// Exactly what @aws-sdk/client-kinesis 3.967.0 sends over HTTP/2
		// (NodeHttp2Handler): host is replaced by the signed :authority.
		{"js sdk over http2", "AWS4-HMAC-SHA256 Credential=test/20261128/us-east-1/kinesis/aws4_request, SignedHeaders=:authority;amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;x-amz-content-sha256;x-amz-date;x-amz-target;x-amz-user-agent, Signature=" + sig64,
			Signature{Algorithm: AlgorithmSigV4, Credential: Credential{"test", "20261128", "us-east-1", "kinesis"},
				SignedHeaders: ":authority;amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;x-amz-content-sha256;x-amz-date;x-amz-target;x-amz-user-agent", Signature: sig64}, true},
		{"lone colon header", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=:;host, Signature=00", Signature{}, false},
		{"double colon header", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=::authority, Signature=00", Signature{}, false},
		{"colon inside header", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=host:x, Signature=00", Signature{}, false},
		{"sigv2", "AWS AKID:c2ln", Signature{}, false},
		{"no components", "AWS4-HMAC-SHA256", Signature{}, false},
		{"missing signature", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=host", Signature{}, false},
		{"repeated component", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, Credential=a/20240101/r/s/aws4_request, SignedHeaders=host, Signature=00", Signature{}, false},
		{"long scope", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request/x, SignedHeaders=host, Signature=00", Signature{}, false},
		{"long sigv4a scope", "AWS4-ECDSA-P256-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=host, Signature=00", Signature{}, false},
		{"trailing slash", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request/, SignedHeaders=host, Signature=00", Signature{}, false},
		{"short scope", "AWS4-HMAC-SHA256 Credential=a/20240101/r/aws4_request, SignedHeaders=host, Signature=00", Signature{}, false},
		{"bad terminator", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws5_request, SignedHeaders=host, Signature=00", Signature{}, false},
		{"bad date", "AWS4-HMAC-SHA256 Credential=a/2024010x/r/s/aws4_request, SignedHeaders=host, Signature=00", Signature{}, false},
		{"empty region", "AWS4-HMAC-SHA256 Credential=a/20240101//s/aws4_request, SignedHeaders=host, Signature=00", Signature{}, false},
		{"control byte in key", "AWS4-HMAC-SHA256 Credential=a\nb/20240101/r/s/aws4_request, SignedHeaders=host, Signature=00", Signature{}, false},
		{"upper-case signature", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=host, Signature=AB", Signature{}, false},
		{"empty signed headers", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=, Signature=00", Signature{}, false},
		{"too long", "AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=" + strings.Repeat("h;", 5000) + "h, Signature=00", Signature{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorization(tt.header)
			if !tt.ok {
				wantCode(t, err, "IncompleteSignature")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParsePresigned checks presigned-URL parameters.
func TestParsePresigned(t *testing.T) {
	sig, err := ParsePresigned(AlgorithmSigV4, "AKID/20240101/ap-south-1/sqs/aws4_request", "host", "0a")
	if err != nil || !sig.Presigned || sig.Credential.Region != "ap-south-1" || sig.Credential.Service != "sqs" {
		t.Fatalf("got %+v, %v", sig, err)
	}
	_, err = ParsePresigned("", "AKID/20240101/ap-south-1/sqs/aws4_request", "host", "0a")
	wantCode(t, err, "IncompleteSignature")
}

// FuzzParseAuthorization checks that no header panics the parser, that an
// accepted header has a well-formed scope, and that rebuilding the header
// from the parse result parses to the same result.
func FuzzParseAuthorization(f *testing.F) {
	f.Add([]byte("AWS4-HMAC-SHA256 Credential=a/20240101/r/s/aws4_request, SignedHeaders=host, Signature=00"))
	f.Fuzz(func(t *testing.T, header []byte) {
		sig, err := ParseAuthorization(string(header))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "IncompleteSignature" {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		c := sig.Credential
		if c.AccessKeyID == "" || c.Service == "" || len(c.Date) != 8 || (sig.Algorithm == AlgorithmSigV4 && c.Region == "") {
			t.Fatalf("accepted incomplete credential %+v", c)
		}
		scope := c.AccessKeyID + "/" + c.Date + "/" + c.Region + "/" + c.Service + "/aws4_request"
		if sig.Algorithm == AlgorithmSigV4A {
			scope = c.AccessKeyID + "/" + c.Date + "/" + c.Service + "/aws4_request"
		}
		rebuilt := sig.Algorithm + " Credential=" + scope + ", SignedHeaders=" + sig.SignedHeaders + ", Signature=" + sig.Signature
		again, err := ParseAuthorization(rebuilt)
		if err != nil || !reflect.DeepEqual(again, sig) {
			t.Fatalf("rebuilt %q parses to %+v, %v; want %+v", rebuilt, again, err, sig)
		}
	})
}
