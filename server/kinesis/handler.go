package kinesis

import (
	"bytes"
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server/awsproto"
)

// Handler returns a fasthttp handler that serves Kinesis requests on its
// own: X-Amz-Target dispatch, JSON and CBOR, AWS error bodies, request ids
// and streamed SubscribeToShard responses. The server router serves every
// operation but SubscribeToShard through ServerService; until it can stream
// response bodies, route Kinesis requests here (see NOTES.md). account is
// the account id requests act in; the region comes from the SigV4
// credential scope (us-east-1 without one). ctx bounds subscriptions.
func (s *Service) Handler(ctx context.Context, account string) fasthttp.RequestHandler {
	return func(rc *fasthttp.RequestCtx) {
		s.serveFastHTTP(ctx, account, rc)
	}
}

const targetPrefixDot = TargetPrefix + "."

func (s *Service) serveFastHTTP(base context.Context, account string, rc *fasthttp.RequestCtx) {
	var idBuf [awsproto.RequestIDLen]byte
	requestID := awsproto.AppendRequestID(idBuf[:0])
	rc.Response.Header.SetBytesV(awsproto.HeaderRequestID, requestID)
	isCBOR := bytes.HasPrefix(rc.Request.Header.ContentType(), []byte("application/x-amz-cbor"))
	target := rc.Request.Header.Peek("X-Amz-Target")
	opName, ok := bytes.CutPrefix(target, []byte(targetPrefixDot))
	op := s.ops[string(opName)]
	if !ok || op == nil {
		writeErrorResponse(rc, isCBOR, awsproto.ErrUnknownOperation.WithMessage("Operation "+string(target)+" is not supported."))
		return
	}
	region := "us-east-1"
	if auth := rc.Request.Header.Peek("Authorization"); len(auth) > 0 {
		if sig, err := awsproto.ParseAuthorization(string(auth)); err == nil && sig.Credential.Region != "" {
			region = sig.Credential.Region
		}
	}
	c := call{
		ctx:  base,
		ns:   engine.Namespace{Account: account, Region: region},
		cbor: isCBOR,
		body: rc.PostBody(),
	}
	c.out.cbor = isCBOR
	if err := op(s, &c); err != nil {
		ae, ok := awsproto.AsError(mapError(err))
		if !ok {
			s.log.Error("kinesis: request failed", "op", string(opName), "request_id", string(requestID), "err", err)
		}
		writeErrorResponse(rc, isCBOR, ae)
		return
	}
	if c.stream != nil {
		rc.SetContentType(c.contentType)
		if sub, ok := c.streamOwner.(*subscription); ok {
			conn := rc.Conn()
			sub.extendDeadline = func(t time.Time) {
				_ = conn.SetWriteDeadline(t) // best effort: a failed flush ends the stream anyway
			}
		}
		rc.SetBodyStreamWriter(c.stream)
		return
	}
	body := c.out.b
	if len(body) == 0 {
		body = emptyBody(isCBOR)
	}
	rc.SetContentType(contentType(isCBOR))
	rc.SetBody(body)
}

func contentType(isCBOR bool) string {
	if isCBOR {
		return awsproto.ContentTypeCBOR11
	}
	return awsproto.ContentTypeJSON11
}

func emptyBody(isCBOR bool) []byte {
	if isCBOR {
		return []byte{0xa0}
	}
	return []byte("{}")
}

func writeErrorResponse(rc *fasthttp.RequestCtx, isCBOR bool, e *awsproto.Error) {
	rc.SetStatusCode(e.Status())
	rc.SetContentType(contentType(isCBOR))
	if isCBOR {
		rc.SetBody(awsproto.AppendCBORError(nil, e))
		return
	}
	rc.SetBody(awsproto.AppendJSONError(nil, e))
}
