package sqs

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// Shape validation that SQS performs before any queue semantics: names,
// identifiers, character sets, counts and sizes. Each check returns the
// *awsproto.Error SQS answers with, or nil.

// fifoSuffix ends every FIFO queue name.
const fifoSuffix = ".fifo"

// isNameByte reports whether b may appear in a queue name, batch entry id or
// permission label: [A-Za-z0-9_-].
func isNameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

func isNameString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// validateQueueName checks a CreateQueue name against the queue type. fifo
// is the FifoQueue attribute's value.
func validateQueueName(name string, fifo bool) *awsproto.Error {
	if fifo {
		base, ok := strings.CutSuffix(name, fifoSuffix)
		if !ok || base == "" || len(name) > queueNameLengthMax || !isNameString(base) {
			return invalidParameter("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
		return nil
	}
	if name == "" || len(name) > queueNameLengthMax || !isNameString(name) {
		return invalidParameter("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	return nil
}

// isQueueNameSyntax reports whether name could name some queue, standard or
// FIFO. Lookups (GetQueueUrl, queue URLs) use it to fail fast.
func isQueueNameSyntax(name string) bool {
	base := strings.TrimSuffix(name, fifoSuffix)
	return base != "" && len(name) <= queueNameLengthMax && isNameString(base)
}

// validateBatchEntryID checks one batch entry Id.
func validateBatchEntryID(id string) *awsproto.Error {
	if id == "" || len(id) > batchEntryIDLengthMax || !isNameString(id) {
		return errInvalidBatchEntryID
	}
	return nil
}

// validateBatchShape checks the entry count and the ids of a batch request:
// EmptyBatchRequest, TooManyEntriesInBatchRequest, InvalidBatchEntryId,
// BatchEntryIdsNotDistinct, in the order SQS checks them. entryShape names
// the entry type in the EmptyBatchRequest message.
func validateBatchShape(ids []string, entryShape string) *awsproto.Error {
	switch {
	case len(ids) == 0:
		return emptyBatch(entryShape)
	case len(ids) > batchEntriesMax:
		return tooManyEntries(len(ids))
	}
	for i, id := range ids {
		if err := validateBatchEntryID(id); err != nil {
			return err
		}
		for _, prev := range ids[:i] {
			if prev == id {
				return idsNotDistinct(id)
			}
		}
	}
	return nil
}

// invalidXMLChar returns the first rune of s outside the XML 1.0 character
// set SQS accepts (#x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD |
// #x10000–#x10FFFF) and ok=false, or ok=true when every rune is allowed.
// Invalid UTF-8 is reported as U+FFFD's position byte value.
func invalidXMLChar(s string) (bad rune, ok bool) {
	for i := 0; i < len(s); {
		// Eight printable ASCII bytes at a time: no high bit set and no
		// byte below 0x20 (exact once the high bits are known clear).
		if i+8 <= len(s) {
			const lo, hi = 0x0101010101010101, 0x8080808080808080
			w := binary.LittleEndian.Uint64(stringBytes(s[i : i+8]))
			if w&hi == 0 && (w-0x20*lo)&^w&hi == 0 {
				i += 8
				continue
			}
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
				return rune(b), false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return rune(b), false
		}
		if r > 0xD7FF && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
			return r, false
		}
		i += size
	}
	return 0, true
}

// validateBody checks a MessageBody's presence and character set. The size
// limit is checked together with the attributes (messageSize).
func validateBody(body string) *awsproto.Error {
	if body == "" {
		return invalidParameter("The request must contain the parameter MessageBody.")
	}
	if r, ok := invalidXMLChar(body); !ok {
		return errInvalidMessageContents.WithMessage("Invalid binary character '#x" +
			strings.ToUpper(strconv.FormatInt(int64(r), 16)) +
			"' was found in the message body, the set of allowed characters is available at http://www.w3.org/TR/REC-xml/#charsets")
	}
	return nil
}

// messageTooLong is SQS's answer for a message (body plus attributes) over
// the queue's MaximumMessageSize.
func messageTooLong(limit int) *awsproto.Error {
	return invalidParameter("One or more parameters are invalid. Reason: Message must be shorter than " + strconv.Itoa(limit) + " bytes.")
}

// isFIFOIDByte reports whether b may appear in MessageGroupId,
// MessageDeduplicationId or ReceiveRequestAttemptId: alphanumerics and
// ASCII punctuation.
func isFIFOIDByte(b byte) bool {
	return b > ' ' && b < 0x7f
}

// validateFIFOID checks MessageGroupId, MessageDeduplicationId or
// ReceiveRequestAttemptId (param names which).
func validateFIFOID(param, value string) *awsproto.Error {
	ok := value != "" && len(value) <= fifoIDLengthMax
	for i := 0; ok && i < len(value); i++ {
		ok = isFIFOIDByte(value[i])
	}
	if !ok {
		return invalidParameterValue(param, value, param+" can only include alphanumeric and punctuation characters. 1 to 128 in length.")
	}
	return nil
}

// messageAttr is a decoded message attribute, before it becomes an
// engine.MessageAttribute. Binary values are decoded bytes.
type messageAttr struct {
	Name        string
	DataType    string
	StringValue string
	BinaryValue []byte
	// hasString/hasBinary record which value member the request carried.
	hasString, hasBinary bool
}

// baseDataType returns "String", "Number" or "Binary" for a DataType with an
// optional ".custom" suffix, or "" if the prefix is none of these.
func baseDataType(dataType string) string {
	base, _, _ := strings.Cut(dataType, ".")
	switch base {
	case "String", "Number", "Binary":
		return base
	}
	return ""
}

// validateAttributeName checks a message attribute name: 1–256 letters,
// digits, '-', '_' and '.' (see attributeNameShapeOK), no leading/trailing
// or doubled period, no AWS./Amazon. prefix (any case).
func validateAttributeName(name string) *awsproto.Error {
	if name == "" {
		return invalidParameter("The request must contain non-empty message attribute name.")
	}
	if !attributeNameShapeOK(name) {
		return invalidParameter("Message (user) attribute name '" + name + "' is invalid. Names can contain alphanumeric characters, hyphens, underscores and periods, cannot start or end with a period, cannot have consecutive periods and can be up to 256 characters long.")
	}
	if reservedAttributeName(name) {
		return invalidParameter("You can't use message attribute names beginning with 'AWS.' or 'Amazon.'. These strings are reserved for internal use. Additionally, they cannot start or end with a period, or contain consecutive periods.")
	}
	return nil
}

// isAttributeName reports whether some message attribute could have name
// (validateAttributeName would accept it), without allocating.
func isAttributeName(name string) bool {
	return name != "" && attributeNameShapeOK(name) && !reservedAttributeName(name)
}

// attributeNameShapeOK checks a non-empty name's length and characters:
// at most 256 characters, each a letter or digit (any script: AWS accepts
// "attr.1øßä" and rejects "§", LocalStack's AWS-validated
// test_send_message_with_invalid_string_attributes), '-', '_' or '.', with
// no leading, trailing or doubled period.
func attributeNameShapeOK(name string) bool {
	if name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return false
	}
	ascii := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if !isNameByte(c) && c != '.' {
			return false
		}
	}
	if ascii {
		return len(name) <= messageAttributeNameLengthMax
	}
	n := 0
	for i, r := range name {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(name[i:]); size <= 1 {
				return false // not UTF-8
			}
		}
		if r >= utf8.RuneSelf {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		} else if !isNameByte(byte(r)) && r != '.' {
			return false
		}
		n++
	}
	return n <= messageAttributeNameLengthMax
}

// reservedAttributeName reports an AWS./Amazon. prefix, in any case.
func reservedAttributeName(name string) bool {
	return hasPrefixFold(name, "aws.") || hasPrefixFold(name, "amazon.")
}

// hasPrefixFold is strings.HasPrefix ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validateMessageAttributes checks the user message attributes of one
// message and returns their encoded size (names, types and values), which
// counts toward the message size.
func validateMessageAttributes(attrs []messageAttr) (int, *awsproto.Error) {
	if len(attrs) > messageAttributesMax {
		return 0, invalidParameter("Number of message attributes [" + strconv.Itoa(len(attrs)) +
			"] exceeds the allowed maximum [" + strconv.Itoa(messageAttributesMax) + "].")
	}
	size := 0
	for i := range attrs {
		a := &attrs[i]
		if err := validateAttributeName(a.Name); err != nil {
			return 0, err
		}
		n, err := validateAttributeValue("Message (user) attribute", a)
		if err != nil {
			return 0, err
		}
		size += n
	}
	return size, nil
}

// validateAttributeValue checks one attribute's type and value; kind names
// the attribute family in messages. It returns the attribute's size.
func validateAttributeValue(kind string, a *messageAttr) (int, *awsproto.Error) {
	if a.DataType == "" {
		return 0, invalidParameter(kind + " '" + a.Name + "' must contain a non-empty message attribute type.")
	}
	base := baseDataType(a.DataType)
	if base == "" || len(a.DataType) > messageAttributeDataTypeLengthMax {
		return 0, invalidParameter(kind + " '" + a.Name + "' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.")
	}
	switch base {
	case "Binary":
		if len(a.BinaryValue) == 0 {
			return 0, emptyAttributeValue(kind, a)
		}
		if a.hasString {
			return 0, invalidParameter(kind + " '" + a.Name + "' with type 'Binary' must use field 'Binary'.")
		}
		return len(a.Name) + len(a.DataType) + len(a.BinaryValue), nil
	default:
		if a.StringValue == "" {
			return 0, emptyAttributeValue(kind, a)
		}
		if a.hasBinary {
			return 0, invalidParameter(kind + " '" + a.Name + "' with type '" + base + "' must use field 'String'.")
		}
		if base == "Number" && !isSQSNumber(a.StringValue) {
			return 0, invalidParameter("Can't cast the value of message (user) attribute '" + a.Name + "' to a number.")
		}
		if _, ok := invalidXMLChar(a.StringValue); !ok {
			return 0, invalidParameter(kind + " '" + a.Name + "' contains invalid characters.")
		}
		return len(a.Name) + len(a.DataType) + len(a.StringValue), nil
	}
}

// emptyAttributeValue is SQS's answer for an attribute without a value:
// "Message (user) attribute 'ErrorDetails' must contain a non-empty value
// of type 'String'." (LocalStack's AWS-recorded test_sqs.snapshot.json,
// test_send_message_with_empty_string_attribute).
func emptyAttributeValue(kind string, a *messageAttr) *awsproto.Error {
	return invalidParameter(kind + " '" + a.Name + "' must contain a non-empty value of type '" + a.DataType + "'.")
}

// isSQSNumber reports whether s is a number SQS accepts for a Number
// attribute: an optionally signed decimal with optional fraction and
// exponent, at most 38 significant digits, within ±10^126 (positive) and
// -10^128 (negative).
func isSQSNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits, significant, intDigits, leading := 0, 0, 0, true
	seenDot := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if c != '0' || !leading {
				leading = false
				significant++
				if !seenDot {
					intDigits++
				}
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			goto exponent
		}
	}
exponent:
	if digits == 0 {
		return false
	}
	exp := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return false
		}
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || s[i+1:] == "" || s[i+1] == ' ' {
			return false
		}
		exp = e
	}
	if significant > 38 {
		return false
	}
	if significant == 0 {
		return true
	}
	// Magnitude check: the decimal exponent of the leading digit.
	magnitude := intDigits - 1 + exp
	return magnitude < 128
}

// validateSystemAttributes checks MessageSystemAttributes on send: only
// AWSTraceHeader (type String) exists. It returns their size.
func validateSystemAttributes(attrs []messageAttr) (int, *awsproto.Error) {
	size := 0
	for i := range attrs {
		a := &attrs[i]
		if a.Name != "AWSTraceHeader" {
			return 0, invalidParameter("Message system attribute name '" + a.Name + "' is invalid.")
		}
		if a.DataType != "String" {
			return 0, invalidParameter("Message system attribute '" + a.Name + "' must use DataType 'String'.")
		}
		n, err := validateAttributeValue("Message system attribute", a)
		if err != nil {
			return 0, err
		}
		size += n
	}
	return size, nil
}
