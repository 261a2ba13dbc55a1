package noop

import (
	"bytes"
	"encoding/json"
)

// The request bodies that carry payloads (SQS SendMessage(Batch), Kinesis
// PutRecord(s)) are scanned for the few string fields the replies need
// instead of being decoded with encoding/json, which costs several
// milliseconds per 500-record PutRecords (it scans every base64 byte at
// ~100 MB/s) and made the "ceiling" slower than Sluice. A ceiling must do
// less than any real server; these scans run at memchr speed.
//
// The scan relies on the compact JSON the AWS SDKs emit ("key":"value", no
// spaces). It cannot be fooled by string contents: inside a JSON string
// every quote is escaped, so `"key":"` only matches a real member. When
// the document does not look as expected (a key not followed by a string,
// spaces after the colon), the caller falls back to encoding/json.

// scanStrings returns, in document order, the value of every string member
// named key anywhere in doc. ok is false when some occurrence of the key is
// not a compact string member or a string is unterminated.
func scanStrings(doc []byte, key string) (values []string, ok bool) {
	quotedKey := `"` + key + `"`
	pattern := quotedKey + `:"`
	if bytes.Count(doc, []byte(quotedKey)) != bytes.Count(doc, []byte(pattern)) {
		return nil, false
	}
	rest := doc
	for {
		i := bytes.Index(rest, []byte(pattern))
		if i < 0 {
			return values, true
		}
		rest = rest[i+len(pattern):]
		end, escaped := -1, false
		for j := 0; j < len(rest); j++ {
			if rest[j] == '\\' {
				escaped = true
				j++
				continue
			}
			if rest[j] == '"' {
				end = j
				break
			}
		}
		if end < 0 {
			return nil, false
		}
		raw := rest[:end]
		rest = rest[end+1:]
		if !escaped {
			values = append(values, string(raw))
			continue
		}
		var s string
		literal := make([]byte, 0, len(raw)+2)
		literal = append(append(append(literal, '"'), raw...), '"')
		if err := json.Unmarshal(literal, &s); err != nil {
			return nil, false
		}
		values = append(values, s)
	}
}

// scanOne returns the single string member key of doc.
func scanOne(doc []byte, key string) (string, bool) {
	values, ok := scanStrings(doc, key)
	if !ok || len(values) != 1 {
		return "", false
	}
	return values[0], true
}
