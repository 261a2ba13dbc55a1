package awsproto

import "bytes"

// The query protocol's JSON answer. AWS's front end answers a
// query-protocol request (Action=…, form-encoded) whose Accept header asks
// for application/json in JSON instead of XML, keeping the XML document's
// envelope:
//
//	{"SendMessageResponse":{"SendMessageResult":{…},"ResponseMetadata":{"RequestId":"…"}}}
//
// Recorded from AWS: LocalStack's AWS-validated
// tests/aws/services/apigateway/test_apigateway_sqs.py
// test_sqs_request_and_response_xml_templates_integration (API Gateway
// sends Accept: application/json; its template reads
// $.SendMessageResponse.SendMessageResult.MessageId and
// $.SendMessageResponse.ResponseMetadata.RequestId; snapshots of 2023-09
// and 2024-07), and ListQueues captures in localstack/localstack#3715
// (2021) and JuliaCloud/AWS.jl#127 (2020). Errors are {"Error":{"Code":…,
// "Message":…}} at the top level (LocalStack's
// test_get_list_queues_fails_json_format); Type and RequestId are placed
// as in the XML ErrorResponse, which no recording shows.

// ContentTypeJSON is the Content-Type of query-protocol responses rendered
// as JSON.
const ContentTypeJSON = "application/json"

// AcceptsJSON reports whether an Accept header value names
// application/json among its media ranges (parameters such as q= are
// ignored). Wildcards do not count: curl's */* and a missing header get
// XML, as from AWS.
func AcceptsJSON(accept []byte) bool {
	for len(accept) > 0 {
		var mediaRange []byte
		mediaRange, accept, _ = bytes.Cut(accept, []byte{','})
		mediaType, _, _ := bytes.Cut(mediaRange, []byte{';'})
		if bytes.EqualFold(bytes.TrimSpace(mediaType), []byte(ContentTypeJSON)) {
			return true
		}
	}
	return false
}

// AppendQueryJSONResponseStart appends the opening of a query-protocol
// success response rendered as JSON: {"{operation}Response":{ and, when the
// operation has output, "{operation}Result": before the result object the
// handler wrote.
func AppendQueryJSONResponseStart(dst []byte, operation string, hasResult bool) []byte {
	dst = append(dst, `{"`...)
	dst = append(dst, operation...)
	dst = append(dst, `Response":{`...)
	if hasResult {
		dst = append(dst, '"')
		dst = append(dst, operation...)
		dst = append(dst, `Result":`...)
	}
	return dst
}

// AppendQueryJSONResponseEnd appends the rest of the document:
// [,]"ResponseMetadata":{"RequestId":"{id}"}}}.
func AppendQueryJSONResponseEnd(dst []byte, requestID string, hasResult bool) []byte {
	if hasResult {
		dst = append(dst, ',')
	}
	dst = append(dst, `"ResponseMetadata":{"RequestId":`...)
	dst = AppendJSONString(dst, requestID)
	return append(dst, "}}}"...)
}

// AppendQueryJSONError appends a query-protocol error rendered as JSON:
// {"Error":{"Type":"Sender","Code":"…","Message":"…"},"RequestId":"…"},
// the XML ErrorResponse without its root element.
func AppendQueryJSONError(dst []byte, e *Error, requestID string) []byte {
	dst = append(dst, `{"Error":{"Type":`...)
	dst = AppendJSONString(dst, e.FaultType())
	dst = append(dst, `,"Code":`...)
	dst = AppendJSONString(dst, e.Code)
	dst = append(dst, `,"Message":`...)
	dst = AppendJSONString(dst, e.Message)
	dst = append(dst, `},"RequestId":`...)
	dst = AppendJSONString(dst, requestID)
	return append(dst, '}')
}
