package awsproto

import (
	"strings"
)

// SigV4 algorithms.
const (
	AlgorithmSigV4  = "AWS4-HMAC-SHA256"
	AlgorithmSigV4A = "AWS4-ECDSA-P256-SHA256"
)

// DefaultRegion is used when a request carries no credential scope region.
const DefaultRegion = "us-east-1"

// authorizationBytesMax bounds the Authorization header (and the presigned
// query values) the parser looks at. Real headers are ~250 bytes.
const authorizationBytesMax = 8 << 10

// Credential is the credential scope of a SigV4 signature:
// AKID/DATE/REGION/SERVICE/aws4_request. For SigV4a the scope has no region
// (the region set travels in X-Amz-Region-Set) and Region is empty.
type Credential struct {
	AccessKeyID string
	Date        string // YYYYMMDD
	Region      string
	Service     string
}

// Signature is a parsed SigV4 (or SigV4a) signature, from the
// Authorization header or from presigned-URL query parameters. It carries
// what verification will need; Sluice does not verify signatures yet.
type Signature struct {
	Algorithm  string
	Credential Credential
	// SignedHeaders is the header names as signed: lower case, separated
	// by ';', each checked to be a header token or an HTTP/2 pseudo-header
	// (":authority", as the JS SDK signs it over HTTP/2). Kept as one
	// string: the request path only validates it, and splitting it
	// allocated per request.
	SignedHeaders string
	Signature     string // lower-case hex
	Presigned     bool
}

func incompleteSignature(detail string) *Error {
	e := ErrIncompleteSignature.WithMessage("The request signature does not conform to AWS standards: " + detail + ".")
	e.JSONType = "IncompleteSignatureException"
	return e
}

// ParseAuthorization parses an Authorization header of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd…
//
// Components may come in any order, separated by commas with optional
// spaces. Errors are *Error with code IncompleteSignature.
func ParseAuthorization(header string) (Signature, error) {
	var sig Signature
	if len(header) > authorizationBytesMax {
		return sig, incompleteSignature("Authorization header too long")
	}
	algorithm, rest, ok := strings.Cut(header, " ")
	if !ok {
		return sig, incompleteSignature("missing credential components")
	}
	if algorithm != AlgorithmSigV4 && algorithm != AlgorithmSigV4A {
		return sig, incompleteSignature("unsupported algorithm " + quoteShort(algorithm))
	}
	sig.Algorithm = algorithm
	var credential, signedHeaders, signature string
	var haveCredential, haveSignedHeaders, haveSignature bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return sig, incompleteSignature("malformed component " + quoteShort(part))
		}
		var dst *string
		var seen *bool
		switch name {
		case "Credential":
			dst, seen = &credential, &haveCredential
		case "SignedHeaders":
			dst, seen = &signedHeaders, &haveSignedHeaders
		case "Signature":
			dst, seen = &signature, &haveSignature
		default:
			return sig, incompleteSignature("unknown component " + quoteShort(name))
		}
		if *seen {
			return sig, incompleteSignature("component " + name + " repeated")
		}
		*dst, *seen = value, true
	}
	if !haveCredential || !haveSignedHeaders || !haveSignature {
		return sig, incompleteSignature("Authorization header requires Credential, SignedHeaders and Signature")
	}
	return sig, sig.fill(credential, signedHeaders, signature)
}

// ParsePresigned parses the SigV4 query parameters of a presigned URL
// (X-Amz-Algorithm, X-Amz-Credential, X-Amz-SignedHeaders, X-Amz-Signature),
// given their decoded values.
func ParsePresigned(algorithm, credential, signedHeaders, signature string) (Signature, error) {
	var sig Signature
	if len(algorithm)+len(credential)+len(signedHeaders)+len(signature) > authorizationBytesMax {
		return sig, incompleteSignature("presigned parameters too long")
	}
	if algorithm != AlgorithmSigV4 && algorithm != AlgorithmSigV4A {
		return sig, incompleteSignature("unsupported algorithm " + quoteShort(algorithm))
	}
	sig.Algorithm = algorithm
	sig.Presigned = true
	return sig, sig.fill(credential, signedHeaders, signature)
}

func (sig *Signature) fill(credential, signedHeaders, signature string) error {
	cred, err := ParseCredential(credential, sig.Algorithm == AlgorithmSigV4A)
	if err != nil {
		return err
	}
	sig.Credential = cred
	if signedHeaders == "" {
		return incompleteSignature("empty SignedHeaders")
	}
	for name := range strings.SplitSeq(signedHeaders, ";") {
		// Over HTTP/2 the JS SDK v3 (NodeHttp2Handler, which its Kinesis
		// client uses for every call) replaces host with the :authority
		// pseudo-header and signs that: SignedHeaders=:authority;... . AWS
		// accepts it (it is the SDK's default), so one leading ':' is
		// allowed; the name must still be a non-empty token after it.
		token := strings.TrimPrefix(name, ":")
		if token == "" || !isHeaderToken(token) {
			return incompleteSignature("malformed SignedHeaders")
		}
	}
	sig.SignedHeaders = signedHeaders
	if signature == "" || !isLowerHex(signature) {
		return incompleteSignature("malformed Signature")
	}
	sig.Signature = signature
	return nil
}

// ParseCredential parses a credential scope
// "AKID/YYYYMMDD/REGION/SERVICE/aws4_request" (regionless
// "AKID/YYYYMMDD/SERVICE/aws4_request" when sigv4a is true).
func ParseCredential(s string, sigv4a bool) (Credential, error) {
	var c Credential
	// Split into at most five parts plus a marker for "more", without
	// allocating: every signed request goes through here.
	var parts [6]string
	n := 0
	for rest, more := s, true; more && n < len(parts); n++ {
		parts[n], rest, more = strings.Cut(rest, "/")
	}
	want := 5
	if sigv4a {
		want = 4
	}
	if n != want || parts[want-1] != "aws4_request" {
		return c, incompleteSignature("credential must have the form AKID/DATE/REGION/SERVICE/aws4_request")
	}
	c.AccessKeyID, c.Date = parts[0], parts[1]
	if sigv4a {
		c.Service = parts[2]
	} else {
		c.Region, c.Service = parts[2], parts[3]
	}
	if c.AccessKeyID == "" || !isScopeToken(c.AccessKeyID) {
		return c, incompleteSignature("malformed access key id")
	}
	if len(c.Date) != 8 || !isDigits(c.Date) {
		return c, incompleteSignature("malformed credential date")
	}
	if (!sigv4a && (c.Region == "" || !isScopeToken(c.Region))) || c.Service == "" || !isScopeToken(c.Service) {
		return c, incompleteSignature("malformed credential scope")
	}
	return c, nil
}

// isScopeToken accepts the characters access key ids, regions and service
// names use, and rejects anything that could smuggle separators or control
// bytes into logs and namespaces.
func isScopeToken(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isHeaderToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quoteShort quotes at most 32 bytes of untrusted input for an error message.
func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return "'" + strings.ToValidUTF8(s, "?") + "'"
}
