package server

import (
	"strings"
	"testing"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// queryJSONService is fakeSQS's shape with Service.QueryJSON: its Echo
// handler writes a JSON result object when the request asks for JSON.
func queryJSONService() *Service {
	echo := func(req *Request, resp *Response) error {
		if !req.QueryJSON {
			resp.Elem("Name", req.Form.Value("Name"))
			return nil
		}
		resp.B = append(resp.B, `{"Name":`...)
		resp.B = awsproto.AppendJSONString(resp.B, req.Form.Value("Name"))
		resp.B = append(resp.B, '}')
		return nil
	}
	handlers := map[string]HandlerFunc{
		"Echo":          echo,
		"AddPermission": echo,
		"NoOutput":      func(*Request, *Response) error { return nil },
		"Missing":       func(*Request, *Response) error { return errNotFound },
	}
	return &Service{
		Name: "sqs", TargetPrefix: "AmazonSQS", JSONVersion: "1.0", QueryCompatible: true, QueryJSON: true,
		JSON: handlers, XMLNamespace: fakeXMLNS, XMLDeclaration: true, Query: handlers,
		OwnsPath: func(path string) bool { return strings.HasPrefix(path, "/000000000000/") },
	}
}

// TestQueryJSON: a query request with Accept: application/json to a
// service with QueryJSON (SQS) is answered in JSON inside the query
// envelope, its errors as {"Error":{…},"RequestId":…}; everything else on
// the shared port keeps its answer: a query service without QueryJSON
// (SNS, also when the Action is shared and the scope picks SNS), a request
// no service can be read from (MissingAction at "/"), the bare 404 for a
// queue URL without Action, and the JSON protocol. Method: raw requests
// against two fake services registered together, compared byte for byte.
func TestQueryJSON(t *testing.T) {
	ts := startServer(t, Config{}, queryJSONService(), fakeSNS())
	header := func(auth, accept string) map[string]string {
		h := formHeaders()
		if auth != "" {
			h["Authorization"] = auth
		}
		if accept != "" {
			h["Accept"] = accept
		}
		return h
	}
	check := func(name string, r reply, status int, contentType, want string) {
		t.Helper()
		want = strings.ReplaceAll(want, "RID", r.header.Get("x-amzn-RequestId"))
		if r.status != status || r.header.Get("Content-Type") != contentType || r.body != want {
			t.Errorf("%s: %d %q %s\nwant %d %q %s", name, r.status, r.header.Get("Content-Type"), r.body, status, contentType, want)
		}
	}
	const jsonType, xmlType = "application/json", "text/xml"
	r := ts.do(t, "POST", "/", header(sigSQS, "application/json"), "Action=Echo&Name=a%22b")
	check("echo", r, 200, jsonType, `{"EchoResponse":{"EchoResult":{"Name":"a\"b"},"ResponseMetadata":{"RequestId":"RID"}}}`)
	r = ts.do(t, "GET", "/000000000000/q?Action=Echo&Name=x", header("", "text/html;q=0.5, Application/JSON"), "")
	check("unsigned GET to a queue URL", r, 200, jsonType, `{"EchoResponse":{"EchoResult":{"Name":"x"},"ResponseMetadata":{"RequestId":"RID"}}}`)
	r = ts.do(t, "POST", "/", header(sigSQS, "application/json"), "Action=NoOutput")
	check("no output", r, 200, jsonType, `{"NoOutputResponse":{"ResponseMetadata":{"RequestId":"RID"}}}`)
	r = ts.do(t, "POST", "/", header(sigSQS, "application/json"), "Action=Missing")
	check("error", r, 400, jsonType, `{"Error":{"Type":"Sender","Code":"AWS.SimpleQueueService.NonExistentQueue",`+
		`"Message":"The specified queue does not exist."},"RequestId":"RID"}`)
	r = ts.do(t, "POST", "/", header(sigSQS, "application/json"), "Action=Nope")
	check("unknown action", r, 400, jsonType, `{"Error":{"Type":"Sender","Code":"InvalidAction",`+
		`"Message":"The action Nope is not valid for this endpoint."},"RequestId":"RID"}`)

	r = ts.do(t, "POST", "/", header(sigSQS, "*/*"), "Action=Echo&Name=x")
	check("*/*", r, 200, xmlType, `<?xml version="1.0"?><EchoResponse xmlns="`+fakeXMLNS+`"><Name>x</Name>`+
		`<ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></EchoResponse>`)
	r = ts.do(t, "POST", "/", header(sigSNS, "application/json"), "Action=AddPermission")
	check("sns, shared action", r, 200, xmlType, `<AddPermissionResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">`+
		`<Owner>sns</Owner><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></AddPermissionResponse>`)
	r = ts.do(t, "POST", "/", header("", "application/json"), "Action=Publish&Version=2010-03-31")
	check("sns", r, 200, xmlType, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">`+
		`<ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></PublishResponse>`)
	r = ts.do(t, "POST", "/", header("", "application/json"), "Version=2012-11-05")
	check("no Action at /", r, 400, xmlType, `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>MissingAction</Code>`+
		`<Message>The request must contain the parameter Action.</Message><Detail/></Error><RequestId>RID</RequestId></ErrorResponse>`)
	r = ts.do(t, "GET", "/000000000000/q", header(sigSQS, "application/json"), "")
	check("no Action at a queue URL", r, 404, xmlType, `<UnknownOperationException/>`)
	h := jsonHeaders("AmazonSQS.Missing")
	h["Accept"] = "application/json"
	r = ts.do(t, "POST", "/", h, "{}")
	check("JSON protocol", r, 400, awsproto.ContentTypeJSON10, `{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}`)
}
