package kinesis

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// shardIDPrefix starts every shard id: shardId-%012d.
const shardIDPrefix = "shardId-"

// appendShardID appends the AWS id of shard index i.
func appendShardID(dst []byte, i int) []byte {
	dst = append(dst, shardIDPrefix...)
	var buf [20]byte
	digits := strconv.AppendInt(buf[:0], int64(i), 10)
	for n := len(digits); n < 12; n++ {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}

// shardID returns the AWS id of shard index i.
func shardID(i int) string {
	var buf [32]byte
	return string(appendShardID(buf[:0], i))
}

// parseShardID returns the shard index of an id. AWS also accepts the bare
// number's canonical id only, so anything but "shardId-" + at least 12
// digits is rejected.
func parseShardID(id string) (int, bool) {
	digits, ok := strings.CutPrefix(id, shardIDPrefix)
	if !ok || len(digits) < 12 || len(digits) > 18 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 63)
	if err != nil {
		return 0, false
	}
	if len(digits) > 12 && digits[0] == '0' {
		return 0, false // one canonical spelling per shard
	}
	return int(n), true
}

// streamARN renders arn:aws:kinesis:REGION:ACCOUNT:stream/NAME.
func streamARN(region, account, name string) string {
	return "arn:aws:kinesis:" + region + ":" + account + ":stream/" + name
}

// consumerARN renders …:stream/NAME/consumer/CONSUMER:CREATED_UNIX.
func consumerARN(region, account, stream, consumer string, createdUnix int64) string {
	return streamARN(region, account, stream) + "/consumer/" + consumer + ":" + strconv.FormatInt(createdUnix, 10)
}

// parsedARN is a Kinesis stream or consumer ARN.
type parsedARN struct {
	region, account, stream string
	// consumer and consumerCreated are set for consumer ARNs.
	consumer        string
	consumerCreated int64
}

// parseARN parses a stream ARN, or a consumer ARN when consumer is true.
func parseARN(arn string, consumer bool) (parsedARN, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "kinesis" ||
		parts[3] == "" || !isDigits(parts[4]) || len(parts[4]) != 12 {
		return parsedARN{}, false
	}
	p := parsedARN{region: parts[3], account: parts[4]}
	resource, ok := strings.CutPrefix(parts[5], "stream/")
	if !ok {
		return parsedARN{}, false
	}
	if !consumer {
		if !validName(resource) {
			return parsedARN{}, false
		}
		p.stream = resource
		return p, true
	}
	// The consumer part itself contains a ':' before its timestamp.
	stream, rest, ok := strings.Cut(resource, "/consumer/")
	if !ok || !validName(stream) {
		return parsedARN{}, false
	}
	name, created, ok := strings.Cut(rest, ":")
	if !ok || !validName(name) || !isDigits(created) || len(created) > 18 {
		return parsedARN{}, false
	}
	p.stream, p.consumer = stream, name
	p.consumerCreated, _ = strconv.ParseInt(created, 10, 64) // digits, ≤ 18 of them
	return p, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validName reports whether s matches [a-zA-Z0-9_.-]+ within 128 bytes,
// the pattern of StreamName, ConsumerName and ShardId.
func validName(s string) bool {
	if s == "" || len(s) > streamNameLengthMax {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// validator collects constraint violations and reports them the way AWS
// does: a ValidationException whose message is
// "N validation error(s) detected: Value 'v' at 'member' failed to satisfy
// constraint: Member must …; …".
//
// AWS reports at most validationErrorsMax violations: a PutRecords of 501
// records with empty partition keys answers "10 validation errors
// detected: …" (the records count and the first nine keys), as kinesalite
// records from AWS (test/putRecords.js "too many records"). Later
// violations are dropped.
type validator struct {
	messages []string
}

// validationErrorsMax is the most violations one ValidationException lists.
const validationErrorsMax = 10

func (v *validator) fail(value, member, constraint string) {
	if len(v.messages) >= validationErrorsMax {
		return
	}
	v.messages = append(v.messages, "Value "+value+" at '"+member+"' failed to satisfy constraint: "+constraint)
}

// quote renders a value the way AWS messages do ('…' or null), truncated.
func quote(s string) string {
	if len(s) > 256 {
		s = s[:256]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return "'" + s + "'"
}

// required fails if the member is absent.
func (v *validator) required(member string, present bool) {
	if !present {
		v.fail("null", member, "Member must not be null")
	}
}

// name checks a [a-zA-Z0-9_.-]+ member of 1..maxLen characters; "" is
// absent (checked by required).
func (v *validator) name(member, s string, maxLen int) {
	if s == "" {
		return
	}
	switch {
	case utf8.RuneCountInString(s) > maxLen:
		v.fail(quote(s), member, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	case !validName(s):
		v.fail(quote(s), member, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
	}
}

// streamName checks a StreamName member. A present empty name fails both
// the pattern and the minimum length, which AWS lists in that order
// (kinesalite test/putRecord.js "empty StreamName").
func (v *validator) streamName(member string, name optString) {
	if name.set && name.s == "" {
		v.fail("''", member, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
		v.fail("''", member, "Member must have length greater than or equal to 1")
		return
	}
	v.name(member, name.s, streamNameLengthMax)
}

// length checks a string's character count.
func (v *validator) length(member, s string, minLen, maxLen int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen:
		v.fail(quote(s), member, "Member must have length greater than or equal to "+strconv.Itoa(minLen))
	case n > maxLen:
		v.fail(quote(s), member, "Member must have length less than or equal to "+strconv.Itoa(maxLen))
	}
}

// intRange checks an optional integer member.
func (v *validator) intRange(member string, p *int64, minValue, maxValue int64) {
	if p == nil {
		return
	}
	switch {
	case *p < minValue:
		v.fail(quote(strconv.FormatInt(*p, 10)), member, "Member must have value greater than or equal to "+strconv.FormatInt(minValue, 10))
	case *p > maxValue:
		v.fail(quote(strconv.FormatInt(*p, 10)), member, "Member must have value less than or equal to "+strconv.FormatInt(maxValue, 10))
	}
}

// enum checks an optional enum member.
func (v *validator) enum(member, s string, allowed ...string) {
	if s == "" {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	v.fail(quote(s), member, "Member must satisfy enum value set: ["+strings.Join(allowed, ", ")+"]")
}

// streamARN checks an optional StreamARN member. A present empty ARN
// fails the pattern and the minimum length, listed in that order as for an
// empty StreamName (streamName).
func (v *validator) streamARN(member string, arn optString) {
	s := arn.s
	if arn.set && s == "" {
		v.fail("''", member, "Member must satisfy regular expression pattern: "+streamARNPattern)
		v.fail("''", member, "Member must have length greater than or equal to 1")
		return
	}
	if s == "" {
		return
	}
	if len(s) > 2048 {
		v.fail(quote(s), member, "Member must have length less than or equal to 2048")
		return
	}
	if _, ok := parseARN(s, false); !ok {
		v.fail(quote(s), member, "Member must satisfy regular expression pattern: "+streamARNPattern)
	}
}

// streamARNPattern is the model's StreamARN pattern.
const streamARNPattern = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+"

// hashKey checks an optional decimal hash key member.
func (v *validator) hashKey(member, s string) {
	if s != "" && !isHashKeyPattern(s) {
		v.fail(quote(s), member, "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})")
	}
}

// sequenceNumber checks an optional sequence number member's pattern.
func (v *validator) sequenceNumber(member, s string) {
	if s != "" && !isSequencePattern(s) {
		v.fail(quote(s), member, "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})")
	}
}

func isHashKeyPattern(s string) bool {
	return isDigits(s) && (s == "0" || s[0] != '0') && len(s) <= 39
}

func isSequencePattern(s string) bool {
	return isDigits(s) && (s == "0" || s[0] != '0') && len(s) <= 129
}

// err returns the ValidationException, or nil.
func (v *validator) err() error {
	switch len(v.messages) {
	case 0:
		return nil
	case 1:
		return errValidation.WithMessage("1 validation error detected: " + v.messages[0])
	}
	return errValidation.WithMessage(strconv.Itoa(len(v.messages)) + " validation errors detected: " + strings.Join(v.messages, "; "))
}

// validateTags checks a tag map the way AWS's model validation does
// (TagMap: 1..200 entries, TagKey 1..128 and TagValue 0..256 characters).
// Map constraints print the map as {k=v, …} and name the whole member, in
// the form AWS's validation gives list and map element constraints
// (kinesalite test/removeTagsFromStream.js "long TagKey", validations
// childKeyLengths/childValueLengths). The 50-tags-per-stream quota is not
// a shape constraint: tagStream and the engine enforce it.
func validateTags(v *validator, member string, tags map[string]string) {
	if tags == nil {
		return
	}
	switch {
	case len(tags) == 0:
		v.fail("'{}'", member, "Member must have length greater than or equal to 1")
	case len(tags) > tagMapEntriesMax:
		v.fail(quoteMap(tags), member, "Member must have length less than or equal to "+strconv.Itoa(tagMapEntriesMax))
	}
	keysOK, valuesOK := true, true
	for k, val := range tags {
		if n := utf8.RuneCountInString(k); n < 1 || n > tagKeyLengthMax {
			keysOK = false
		}
		if utf8.RuneCountInString(val) > tagValueLengthMax {
			valuesOK = false
		}
	}
	if !keysOK {
		v.fail(quoteMap(tags), member, "Map keys must satisfy constraint: [Member must have length less than or equal to "+
			strconv.Itoa(tagKeyLengthMax)+", Member must have length greater than or equal to 1]")
	}
	if !valuesOK {
		v.fail(quoteMap(tags), member, "Map value must satisfy constraint: [Member must have length less than or equal to "+
			strconv.Itoa(tagValueLengthMax)+", Member must have length greater than or equal to 0]")
	}
}

// validateTagKeys checks a TagKeyList: 1..50 keys of 1..128 characters.
// AWS prints the list as [a, b] (kinesalite test/removeTagsFromStream.js).
func validateTagKeys(v *validator, keys []string) {
	switch {
	case keys == nil:
		return
	case len(keys) == 0:
		v.fail("'[]'", "tagKeys", "Member must have length greater than or equal to 1")
	case len(keys) > tagKeysPerCallMax:
		v.fail(quote("["+strings.Join(keys, ", ")+"]"), "tagKeys", "Member must have length less than or equal to "+strconv.Itoa(tagKeysPerCallMax))
	}
	for _, k := range keys {
		if n := utf8.RuneCountInString(k); n < 1 || n > tagKeyLengthMax {
			v.fail(quote("["+strings.Join(keys, ", ")+"]"), "tagKeys", "Member must satisfy constraint: [Member must have length less than or equal to "+
				strconv.Itoa(tagKeyLengthMax)+", Member must have length greater than or equal to 1]")
			return
		}
	}
}

// quoteMap renders a map the way AWS messages print one: '{k=v, k2=v2}'
// (keys sorted here; AWS's order is its hash map's).
func quoteMap(m map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	b.WriteByte('}')
	return quote(b.String())
}

// validTagText reports whether a tag key or value holds only the
// characters AWS allows, the pattern ^([\p{L}\p{Z}\p{N}_.:/=+\-@%]*)$ of
// the tagging APIs: Unicode letters, separators (white space, but not tab
// or newline, which are control characters) and numbers, and
// _ . : / = + - @ % (API reference, Tag; kinesalite records AWS refusing
// tab, newline, ',' and ';').
func validTagText(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.L, unicode.Z, unicode.N) || strings.ContainsRune("_.:/=+-@%", r) {
			continue
		}
		return false
	}
	return true
}

// errTagCharacters is AWS's answer to a tag key or value with other
// characters (kinesalite actions/addTagsToStream.js, test/removeTagsFromStream.js).
var errTagCharacters = errInvalidArgument.WithMessage("Some tags contain invalid characters. Valid characters: " +
	"Unicode letters, digits, white space, _ . / = + - % @ :.")

func itoa(i int) string { return strconv.Itoa(i) }
