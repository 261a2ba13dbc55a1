package awsproto

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// ContentTypeXML is the Content-Type of query-protocol responses.
const ContentTypeXML = "text/xml"

// XMLDeclaration starts SQS query responses.
const XMLDeclaration = `<?xml version="1.0"?>`

// XMLWriter appends XML to B. It has no state besides B and never fails:
// element names are trusted constants from the service model, text is escaped.
type XMLWriter struct {
	B []byte
}

// Open appends <name>.
func (w *XMLWriter) Open(name string) {
	w.B = append(w.B, '<')
	w.B = append(w.B, name...)
	w.B = append(w.B, '>')
}

// Close appends </name>.
func (w *XMLWriter) Close(name string) {
	w.B = append(w.B, '<', '/')
	w.B = append(w.B, name...)
	w.B = append(w.B, '>')
}

// Empty appends <name/>.
func (w *XMLWriter) Empty(name string) {
	w.B = append(w.B, '<')
	w.B = append(w.B, name...)
	w.B = append(w.B, '/', '>')
}

// Elem appends <name>text</name> with text escaped.
func (w *XMLWriter) Elem(name, text string) {
	w.Open(name)
	w.B = AppendXMLText(w.B, text)
	w.Close(name)
}

// ElemBytes is Elem for a []byte text (for example a message body).
func (w *XMLWriter) ElemBytes(name string, text []byte) {
	w.Open(name)
	// The string does not outlive the call (appendXMLText copies it).
	w.B = appendXMLText(w.B, unsafe.String(unsafe.SliceData(text), len(text)))
	w.Close(name)
}

// ElemInt appends <name>v</name>.
func (w *XMLWriter) ElemInt(name string, v int64) {
	w.Open(name)
	w.B = strconv.AppendInt(w.B, v, 10)
	w.Close(name)
}

// ElemBool appends <name>true|false</name>.
func (w *XMLWriter) ElemBool(name string, v bool) {
	w.Open(name)
	w.B = strconv.AppendBool(w.B, v)
	w.Close(name)
}

// AppendXMLText appends s escaped for XML 1.0 element content or a
// double-quoted attribute value:
//   - & < > " ' become &amp; &lt; &gt; &quot; &apos;;
//   - \r becomes &#xD; because XML parsers normalise a literal CR (and CRLF)
//     to LF, which would change a message body; \n and \t stay literal;
//   - characters XML 1.0 cannot carry at all (C0 controls other than \t \n
//     \r, U+FFFE, U+FFFF) and invalid UTF-8 become U+FFFD, so the document
//     always parses. SQS refuses such bodies at send time, so this is a
//     last-resort guard, not a data path.
func AppendXMLText(dst []byte, s string) []byte {
	return appendXMLText(dst, s)
}

// xmlPlain[c] reports whether appendXMLText copies the byte c as it is
// (printable ASCII other than markup, \t and \n).
var xmlPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range "&<>\"'" {
		t[c] = false
	}
	t['\t'], t['\n'] = true, true
	return t
}()

// plainXML8 reports whether none of the first 8 bytes of s (len(s) >= 8)
// needs attention in XML text: no control character, no markup character
// and no non-ASCII byte (the word-at-a-time tests of plainASCII8). Tab
// and newline count as needing attention here; the byte loop then copies
// them as they are. Markup characters one bit apart share a test: a byte
// OR 0x01 equals 0x27 (apostrophe) only for the apostrophe and the
// ampersand (0x26), a byte OR 0x02 equals 0x3E only for the angle
// brackets (0x3C, 0x3E); the double quote (0x22) has its own. Small
// enough to inline into the loop.
func plainXML8(s string) bool {
	w := binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s), 8))
	ap, lg, q := (w|swarOnes)^(swarOnes*'\''), (w|swarOnes*2)^(swarOnes*'>'), w^(swarOnes*'"')
	return (w|(w-swarOnes*0x20)&^w|(ap-swarOnes)&^ap|(lg-swarOnes)&^lg|(q-swarOnes)&^q)&swarHighs == 0
}

func appendXMLText(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time: ids, digests and most
		// message bodies need no escaping at all.
		for i+8 <= len(s) && plainXML8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if xmlPlain[c] {
			i++
			continue
		}
		var esc string
		width := 1
		switch {
		case c == '&':
			esc = "&amp;"
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '"':
			esc = "&quot;"
		case c == '\'':
			esc = "&apos;"
		case c == '\r':
			esc = "&#xD;"
		case c == '\t' || c == '\n':
		case c < 0x20:
			esc = "\uFFFD"
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			width = size
			if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
				esc = "\uFFFD"
			}
		}
		if esc == "" {
			i += width
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, esc...)
		i += width
		start = i
	}
	return append(dst, s[start:]...)
}

// AppendXMLResponseStart appends the opening of a query-protocol success
// response: [<?xml version="1.0"?>]<{operation}Response xmlns="{xmlns}">.
// The handler then appends its <{operation}Result> element (or none, for
// operations without output) and the server closes with
// AppendXMLResponseEnd.
func AppendXMLResponseStart(dst []byte, operation, xmlns string, declaration bool) []byte {
	if declaration {
		dst = append(dst, XMLDeclaration...)
	}
	dst = append(dst, '<')
	dst = append(dst, operation...)
	dst = append(dst, "Response"...)
	dst = appendXMLNS(dst, xmlns)
	return append(dst, '>')
}

// AppendXMLResponseEnd appends
// <ResponseMetadata><RequestId>{id}</RequestId></ResponseMetadata></{operation}Response>.
func AppendXMLResponseEnd(dst []byte, operation, requestID string) []byte {
	dst = append(dst, "<ResponseMetadata><RequestId>"...)
	dst = AppendXMLText(dst, requestID)
	dst = append(dst, "</RequestId></ResponseMetadata></"...)
	dst = append(dst, operation...)
	return append(dst, "Response>"...)
}

// AppendXMLError appends the query protocol's error document:
//
//	[<?xml version="1.0"?>]<ErrorResponse xmlns="…"><Error><Type>Sender</Type>
//	<Code>…</Code><Message>…</Message><Detail/></Error><RequestId>…</RequestId></ErrorResponse>
//
// (without the line breaks). xmlns may be empty to omit the attribute. A
// Bare error is the empty element <Code/> alone.
func AppendXMLError(dst []byte, e *Error, xmlns, requestID string, declaration bool) []byte {
	if e.Bare {
		dst = append(dst, '<')
		dst = AppendXMLText(dst, e.Code)
		return append(dst, "/>"...)
	}
	if declaration {
		dst = append(dst, XMLDeclaration...)
	}
	dst = append(dst, "<ErrorResponse"...)
	dst = appendXMLNS(dst, xmlns)
	dst = append(dst, "><Error><Type>"...)
	dst = append(dst, e.FaultType()...)
	dst = append(dst, "</Type><Code>"...)
	dst = AppendXMLText(dst, e.Code)
	dst = append(dst, "</Code><Message>"...)
	dst = AppendXMLText(dst, e.Message)
	dst = append(dst, "</Message><Detail/></Error><RequestId>"...)
	dst = AppendXMLText(dst, requestID)
	return append(dst, "</RequestId></ErrorResponse>"...)
}

func appendXMLNS(dst []byte, xmlns string) []byte {
	if xmlns == "" {
		return dst
	}
	dst = append(dst, ` xmlns="`...)
	dst = AppendXMLText(dst, xmlns)
	return append(dst, '"')
}
