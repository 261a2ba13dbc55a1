package sqs

import (
	"encoding/base64"
	"strconv"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// Shared input shapes and their query-protocol decoding. JSON decodes the
// same structs with encoding/json (member names match the model).

// attrValue is MessageAttributeValue / MessageSystemAttributeValue.
// StringListValues and BinaryListValues are reserved by SQS ("not
// implemented") and ignored, as SQS does.
type attrValue struct {
	DataType         string
	StringValue      *string
	BinaryValue      []byte
	StringListValues []string
	BinaryListValues [][]byte
}

// attrMap is MessageBodyAttributeMap / MessageBodySystemAttributeMap.
type attrMap map[string]attrValue

// list returns the attributes as messageAttrs sorted by name.
func (m attrMap) list() []messageAttr {
	if len(m) == 0 {
		return nil
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sortStrings(names)
	out := make([]messageAttr, len(names))
	for i, name := range names {
		v := m[name]
		a := &out[i]
		a.Name, a.DataType = name, v.DataType
		if v.StringValue != nil {
			a.StringValue, a.hasString = *v.StringValue, true
		}
		if v.BinaryValue != nil {
			a.BinaryValue, a.hasBinary = v.BinaryValue, true
		}
	}
	return out
}

// engineAttributes converts validated attributes for the engine.
func engineAttributes(attrs []messageAttr) []engine.MessageAttribute {
	if len(attrs) == 0 {
		return nil
	}
	out := make([]engine.MessageAttribute, len(attrs))
	for i := range attrs {
		a := &attrs[i]
		out[i] = engine.MessageAttribute{Name: a.Name, DataType: a.DataType}
		if baseDataType(a.DataType) == "Binary" {
			out[i].BinaryValue = a.BinaryValue
		} else {
			out[i].StringValue = a.StringValue
		}
	}
	return out
}

// formAttrMap reads a flattened MessageAttribute / MessageSystemAttribute
// map: prefix.N.Name, prefix.N.Value.DataType, .StringValue, .BinaryValue
// (base64).
func formAttrMap(f *awsproto.Form, prefix string) (attrMap, error) {
	members, err := f.Members(prefix)
	if err != nil || len(members) == 0 {
		return nil, err
	}
	m := make(attrMap, len(members))
	for _, member := range members {
		fields := member.Fields
		name, ok := fields.Get("Name")
		if !ok {
			return nil, missingParameter(prefix + "." + strconv.Itoa(member.Index) + ".Name")
		}
		if _, dup := m[name]; dup {
			return nil, invalidParameter("Message attribute name '" + name + "' is repeated.")
		}
		v := attrValue{DataType: fields.Value("Value.DataType")}
		if s, ok := fields.Get("Value.StringValue"); ok {
			v.StringValue = &s
		}
		if s, ok := fields.Get("Value.BinaryValue"); ok {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return nil, invalidParameter("Message attribute '" + name + "' has an invalid base64 BinaryValue.")
			}
			if b == nil {
				b = []byte{}
			}
			v.BinaryValue = b
		}
		m[name] = v
	}
	return m, nil
}

// formOptionalInt reads an optional integer parameter.
func formOptionalInt(f *awsproto.Form, name string) (*int, error) {
	s, ok := f.Get(name)
	if !ok {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1<<31 || n > 1<<31-1 {
		return nil, invalidParameterValue(name, s, "Must be an integer.")
	}
	return &n, nil
}

// formStrings reads a flattened scalar list (prefix.1, prefix.2, ...).
func formStrings(f *awsproto.Form, prefix string) ([]string, error) {
	return f.List(prefix)
}
