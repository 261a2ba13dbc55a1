package sqs

import (
	"strings"
)

// Queue addresses. A queue URL is http://HOST[:PORT]/ACCOUNT/NAME: the
// host comes from the request (or the configured hostname), ACCOUNT is the
// owner's account id and NAME the queue name. A queue ARN is
// arn:PARTITION:sqs:REGION:ACCOUNT:NAME. The region of a URL is the request's
// (SigV4 scope) region: Sluice serves every region on one endpoint, so the
// host does not carry it.

// queueAddress is a queue's owner account and name, as parsed from a URL;
// the region comes from the request.
type queueAddress struct {
	Account, Name string
}

// parseQueueURL extracts (account, name) from a queue URL. It accepts an
// absolute URL with any scheme and host ("https://sqs.us-east-1.amazonaws.com/
// 123456789012/q") and a bare path ("/123456789012/q"), tolerating one
// trailing slash. ok=false means the URL is not a queue URL; callers answer
// QueueDoesNotExist or InvalidAddress as SQS does.
func parseQueueURL(raw string) (queueAddress, bool) {
	path := raw
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			return queueAddress{}, false
		}
		path = rest[slash:]
	}
	if q := strings.IndexAny(path, "?#"); q >= 0 {
		path = path[:q]
	}
	path = strings.TrimPrefix(path, "/")
	path = strings.TrimSuffix(path, "/")
	account, name, ok := strings.Cut(path, "/")
	if !ok || account == "" || !isAccountID(account) || !isQueueNameSyntax(name) {
		return queueAddress{}, false
	}
	return queueAddress{Account: account, Name: name}, true
}

// isAccountID accepts the account part of URLs and ARNs: 1–64 letters,
// digits or hyphens. AWS account ids are 12 digits; Sluice's configured
// account may be anything the operator chose.
func isAccountID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// appendQueueURL appends base + "/" + account + "/" + name, where base is
// "http://host:port" without a trailing slash.
func appendQueueURL(dst []byte, base, account, name string) []byte {
	dst = append(dst, base...)
	dst = append(dst, '/')
	dst = append(dst, account...)
	dst = append(dst, '/')
	return append(dst, name...)
}

// queueARN is a parsed queue ARN.
type queueARN struct {
	Partition, Region, Account, Name string
}

// parseQueueARN parses arn:PARTITION:sqs:REGION:ACCOUNT:NAME.
func parseQueueARN(s string) (queueARN, bool) {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return queueARN{}, false
	}
	var parts [5]string
	for i := 0; i < 4; i++ {
		var part string
		part, rest, ok = strings.Cut(rest, ":")
		if !ok {
			return queueARN{}, false
		}
		parts[i] = part
	}
	parts[4] = rest
	a := queueARN{Partition: parts[0], Region: parts[2], Account: parts[3], Name: parts[4]}
	if a.Partition == "" || parts[1] != "sqs" || a.Region == "" || !isAccountID(a.Account) || !isQueueNameSyntax(a.Name) {
		return queueARN{}, false
	}
	return a, true
}

// formatQueueARN renders a queue ARN in partition "aws".
func formatQueueARN(region, account, name string) string {
	return "arn:aws:sqs:" + region + ":" + account + ":" + name
}
