package kinesis

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Pagination tokens (NextToken of ListStreams, ListShards and
// ListStreamConsumers). AWS tokens are opaque and expire after 300 s
// (ExpiredNextTokenException); Sluice's carry the issue time, the stream
// (ListShards: NextToken replaces StreamName) and the last item returned:
//
//	base64url("1" 0x1f issuedUnixMilli 0x1f account 0x1f region 0x1f stream 0x1f after)
//
// They are not signed: a forged token only lists what the caller could list
// anyway.

const (
	listTokenVersion  = "1"
	listTokenSep      = "\x1f"
	listTokenLifetime = 300 * time.Second
	listTokenFields   = 6
	// listTokenBytesMax bounds an accepted token (the model allows 1 MiB).
	listTokenBytesMax = 4096
)

// listToken is a decoded pagination token.
type listToken struct {
	account, region, stream string
	// after is the last name (ListStreams, ListStreamConsumers) or shard
	// index (ListShards, decimal) returned.
	after string
}

func encodeListToken(t listToken, now time.Time) string {
	raw := strings.Join([]string{listTokenVersion, strconv.FormatInt(now.UnixMilli(), 10),
		t.account, t.region, t.stream, t.after}, listTokenSep)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeListToken parses a token; malformed tokens are
// InvalidArgumentException and old ones ExpiredNextTokenException.
func decodeListToken(token string, now time.Time) (listToken, error) {
	if len(token) > listTokenBytesMax {
		return listToken{}, invalidArgument("Invalid NextToken.")
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || !utf8.Valid(raw) {
		return listToken{}, invalidArgument("Invalid NextToken.")
	}
	f := strings.Split(string(raw), listTokenSep)
	if len(f) != listTokenFields || f[0] != listTokenVersion {
		return listToken{}, invalidArgument("Invalid NextToken.")
	}
	issued, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return listToken{}, invalidArgument("Invalid NextToken.")
	}
	if now.Sub(time.UnixMilli(issued)) > listTokenLifetime {
		return listToken{}, errExpiredNextToken.WithMessage("The NextToken has expired.")
	}
	return listToken{account: f[2], region: f[3], stream: f[4], after: f[5]}, nil
}
