package sqs

import (
	"encoding/hex"
	"strconv"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// out renders one operation's output in the request's protocol from a single
// description: AWS JSON 1.0 (a JSON object) or the query protocol (the
// content of <{Operation}Response>, i.e. the <{Operation}Result> element;
// the server wraps it with the response envelope and request id).
//
// The two protocols differ only in shape: JSON lists are arrays and maps are
// objects, while query XML lists and maps are "flattened" (one element per
// member, named by the model's xmlName, maps as <Entry><Name/><Value/></Entry>).
// Every method takes the names both shapes need. Encoding is append-only,
// reflection-free and does not allocate beyond growing B.
type out struct {
	// B is the output buffer; handlers pass in a pooled buffer.
	B []byte
	// xml selects the query protocol's XML; false means JSON.
	xml bool
	// queryJSON: JSON for a query-protocol request that accepts JSON
	// (server.Request.QueryJSON). The server wraps the result object in
	// the query envelope; the few members AWS names differently there
	// than in its JSON protocol are chosen by the handlers.
	queryJSON bool
	// comma: JSON only, a value was written at the current nesting level,
	// so the next one needs a separator.
	comma bool
}

func (o *out) sep() {
	if o.comma {
		o.B = append(o.B, ',')
	}
	o.comma = true
}

func (o *out) jsonKey(name string) {
	o.sep()
	o.B = awsproto.AppendJSONString(o.B, name)
	o.B = append(o.B, ':')
}

// begin opens the result: "{" or <resultName>.
func (o *out) begin(resultName string) {
	if o.xml {
		o.B = append(o.B, '<')
		o.B = append(o.B, resultName...)
		o.B = append(o.B, '>')
		return
	}
	o.B = append(o.B, '{')
	o.comma = false
}

// end closes the result. An empty XML result is one self-closing element,
// as AWS writes it (<ReceiveMessageResult/> for a receive that found
// nothing: LocalStack's AWS-validated test_get_send_and_receive_messages).
func (o *out) end(resultName string) {
	if o.xml {
		if n := len(o.B); n >= len(resultName)+2 && o.B[n-1] == '>' &&
			o.B[n-len(resultName)-2] == '<' && string(o.B[n-len(resultName)-1:n-1]) == resultName {
			o.B = append(o.B[:n-1], '/', '>')
			return
		}
		o.closeTag(resultName)
		return
	}
	o.B = append(o.B, '}')
	o.comma = true
}

// empty writes the output of an operation without output members: "{}" in
// JSON, nothing in XML or query JSON (the envelope alone).
func (o *out) empty() {
	if !o.xml && !o.queryJSON {
		o.B = append(o.B, '{', '}')
	}
}

// null writes a JSON member whose value is null (query JSON only: AWS
// lists unset members of some results there).
func (o *out) null(name string) {
	o.jsonKey(name)
	o.B = append(o.B, "null"...)
}

func (o *out) openTag(name string) {
	o.B = append(o.B, '<')
	o.B = append(o.B, name...)
	o.B = append(o.B, '>')
}

func (o *out) closeTag(name string) {
	o.B = append(o.B, '<', '/')
	o.B = append(o.B, name...)
	o.B = append(o.B, '>')
}

// str writes a string member.
func (o *out) str(name, v string) {
	if o.xml {
		o.openTag(name)
		o.B = awsproto.AppendXMLText(o.B, v)
		o.closeTag(name)
		return
	}
	o.jsonKey(name)
	o.B = awsproto.AppendJSONString(o.B, v)
}

// hexDigest writes a digest member as lowercase hex, which needs no
// escaping in either format, without a string per digest.
func (o *out) hexDigest(name string, d []byte) {
	if o.xml {
		o.openTag(name)
		o.B = hex.AppendEncode(o.B, d)
		o.closeTag(name)
		return
	}
	o.jsonKey(name)
	o.B = append(o.B, '"')
	o.B = hex.AppendEncode(o.B, d)
	o.B = append(o.B, '"')
}

// strBytes writes a string member held as bytes (a message body).
func (o *out) strBytes(name string, v []byte) {
	o.str(name, bytesString(v))
}

// long writes an integer member: a JSON number, XML text.
func (o *out) long(name string, v int64) {
	if o.xml {
		o.openTag(name)
		o.B = strconv.AppendInt(o.B, v, 10)
		o.closeTag(name)
		return
	}
	o.jsonKey(name)
	o.B = strconv.AppendInt(o.B, v, 10)
}

// boolean writes a boolean member.
func (o *out) boolean(name string, v bool) {
	if o.xml {
		o.openTag(name)
		o.B = strconv.AppendBool(o.B, v)
		o.closeTag(name)
		return
	}
	o.jsonKey(name)
	o.B = strconv.AppendBool(o.B, v)
}

// listStart opens a list member: `"jsonName":[` in JSON, nothing in XML
// (flattened lists have no wrapper).
func (o *out) listStart(jsonName string) {
	if o.xml {
		return
	}
	o.jsonKey(jsonName)
	o.B = append(o.B, '[')
	o.comma = false
}

// listEnd closes a list member.
func (o *out) listEnd() {
	if o.xml {
		return
	}
	o.B = append(o.B, ']')
	o.comma = true
}

// strItem writes one element of a string list: `"v"` or <xmlName>v</xmlName>.
func (o *out) strItem(xmlName, v string) {
	if o.xml {
		o.str(xmlName, v)
		return
	}
	o.sep()
	o.B = awsproto.AppendJSONString(o.B, v)
}

// itemStart opens one structure element of a list: "{" or <xmlName>.
func (o *out) itemStart(xmlName string) {
	if o.xml {
		o.openTag(xmlName)
		return
	}
	o.sep()
	o.B = append(o.B, '{')
	o.comma = false
}

// itemEnd closes one structure element of a list.
func (o *out) itemEnd(xmlName string) {
	if o.xml {
		o.closeTag(xmlName)
		return
	}
	o.B = append(o.B, '}')
	o.comma = true
}

// mapStart opens a map member: `"jsonName":{` in JSON, nothing in XML.
func (o *out) mapStart(jsonName string) {
	if o.xml {
		return
	}
	o.jsonKey(jsonName)
	o.B = append(o.B, '{')
	o.comma = false
}

// mapEnd closes a map member.
func (o *out) mapEnd() {
	if o.xml {
		return
	}
	o.B = append(o.B, '}')
	o.comma = true
}

// mapEntry writes one string-valued map entry: `"key":"value"` or
// <xmlEntry><keyTag>key</keyTag><valueTag>value</valueTag></xmlEntry>.
func (o *out) mapEntry(xmlEntry, keyTag, valueTag, key, value string) {
	if o.xml {
		o.openTag(xmlEntry)
		o.str(keyTag, key)
		o.str(valueTag, value)
		o.closeTag(xmlEntry)
		return
	}
	o.jsonKey(key)
	o.B = awsproto.AppendJSONString(o.B, value)
}

// mapEntryInt writes one map entry whose value is a decimal integer
// rendered as a string (system attributes): `"key":"123"` or the XML entry.
func (o *out) mapEntryInt(xmlEntry, keyTag, valueTag, key string, v int64) {
	if o.xml {
		o.openTag(xmlEntry)
		o.str(keyTag, key)
		o.openTag(valueTag)
		o.B = strconv.AppendInt(o.B, v, 10)
		o.closeTag(valueTag)
		o.closeTag(xmlEntry)
		return
	}
	o.jsonKey(key)
	o.B = append(o.B, '"')
	o.B = strconv.AppendInt(o.B, v, 10)
	o.B = append(o.B, '"')
}

// mapStructStart opens a structure-valued map entry: `"key":{` or
// <xmlEntry><Name>key</Name><Value>.
func (o *out) mapStructStart(xmlEntry, key string) {
	if o.xml {
		o.openTag(xmlEntry)
		o.str("Name", key)
		o.openTag("Value")
		return
	}
	o.jsonKey(key)
	o.B = append(o.B, '{')
	o.comma = false
}

// mapStructEnd closes a structure-valued map entry.
func (o *out) mapStructEnd(xmlEntry string) {
	if o.xml {
		o.closeTag("Value")
		o.closeTag(xmlEntry)
		return
	}
	o.B = append(o.B, '}')
	o.comma = true
}

// blob writes a binary member: base64 text in both protocols.
func (o *out) blob(name string, v []byte) {
	if o.xml {
		o.openTag(name)
		o.B = appendBase64(o.B, v)
		o.closeTag(name)
		return
	}
	o.jsonKey(name)
	o.B = append(o.B, '"')
	o.B = appendBase64(o.B, v)
	o.B = append(o.B, '"')
}
