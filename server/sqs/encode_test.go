package sqs

import (
	"encoding/json"
	"testing"
)

// writeSample describes one output with every writer method, so both
// renderings can be compared against hand-written expectations.
func writeSample(o *out) {
	o.begin("SampleResult")
	o.str("S", "a\"<&\r")
	o.long("N", -7)
	o.boolean("B", true)
	o.listStart("L")
	o.strItem("Item", "x")
	o.strItem("Item", "y")
	o.listEnd()
	o.listStart("Msgs")
	o.itemStart("Message")
	o.str("Id", "1")
	o.mapStart("Attributes")
	o.mapEntry("Attribute", "Name", "Value", "k", "v")
	o.mapEnd()
	o.mapStart("MessageAttributes")
	o.mapStructStart("MessageAttribute", "m")
	o.blob("BinaryValue", []byte{1, 2})
	o.str("DataType", "Binary")
	o.mapStructEnd("MessageAttribute")
	o.mapEnd()
	o.itemEnd("Message")
	o.itemStart("Message")
	o.str("Id", "2")
	o.itemEnd("Message")
	o.listEnd()
	o.end("SampleResult")
}

// TestOutShapes checks that one description renders as the JSON object and
// the flattened XML that the two SQS protocols expect.
func TestOutShapes(t *testing.T) {
	j := out{}
	writeSample(&j)
	wantJSON := `{"S":"a\"<&\r","N":-7,"B":true,"L":["x","y"],"Msgs":[{"Id":"1","Attributes":{"k":"v"},"MessageAttributes":{"m":{"BinaryValue":"AQI=","DataType":"Binary"}}},{"Id":"2"}]}`
	if string(j.B) != wantJSON {
		t.Errorf("JSON:\n got %s\nwant %s", j.B, wantJSON)
	}
	var v any
	if err := json.Unmarshal(j.B, &v); err != nil {
		t.Errorf("JSON does not parse: %v", err)
	}
	x := out{xml: true}
	writeSample(&x)
	wantXML := `<SampleResult><S>a&quot;&lt;&amp;&#xD;</S><N>-7</N><B>true</B><Item>x</Item><Item>y</Item>` +
		`<Message><Id>1</Id><Attribute><Name>k</Name><Value>v</Value></Attribute>` +
		`<MessageAttribute><Name>m</Name><Value><BinaryValue>AQI=</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute></Message>` +
		`<Message><Id>2</Id></Message></SampleResult>`
	if string(x.B) != wantXML {
		t.Errorf("XML:\n got %s\nwant %s", x.B, wantXML)
	}
}
