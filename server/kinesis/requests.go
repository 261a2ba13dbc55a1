package kinesis

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// Input shapes of the operations, decoded from JSON (encoding/json via
// awsproto.DecodeJSON) or CBOR (fxamacker/cbor via awsproto.DecodeCBOR, which
// reads the same `json` tags). Optional scalars are pointers so that
// "absent" and "zero" differ, as the model's validation needs.

// streamRef names a stream by StreamName or StreamARN; every stream
// operation embeds it. Both are optString: AWS validates a member that is
// present, even empty, whatever the other one holds.
type streamRef struct {
	StreamName optString `json:"StreamName"`
	StreamARN  optString `json:"StreamARN"`
	StreamID   string    `json:"StreamId"`
}

type createStreamInput struct {
	StreamName          optString          `json:"StreamName"`
	ShardCount          *int64             `json:"ShardCount"`
	StreamModeDetails   *streamModeDetails `json:"StreamModeDetails"`
	Tags                map[string]string  `json:"Tags"`
	WarmThroughputMiBps *int64             `json:"WarmThroughputMiBps"`
	MaxRecordSizeInKiB  *int64             `json:"MaxRecordSizeInKiB"`
}

type streamModeDetails struct {
	StreamMode string `json:"StreamMode"`
}

type deleteStreamInput struct {
	streamRef
	EnforceConsumerDeletion *bool `json:"EnforceConsumerDeletion"`
}

type describeStreamInput struct {
	streamRef
	Limit                 *int64 `json:"Limit"`
	ExclusiveStartShardID string `json:"ExclusiveStartShardId"`
}

type listStreamsInput struct {
	Limit                    *int64 `json:"Limit"`
	ExclusiveStartStreamName string `json:"ExclusiveStartStreamName"`
	NextToken                string `json:"NextToken"`
}

type shardFilter struct {
	Type      string     `json:"Type"`
	ShardID   string     `json:"ShardId"`
	Timestamp *timestamp `json:"Timestamp"`
}

type listShardsInput struct {
	streamRef
	NextToken               string       `json:"NextToken"`
	ExclusiveStartShardID   string       `json:"ExclusiveStartShardId"`
	MaxResults              *int64       `json:"MaxResults"`
	StreamCreationTimestamp *timestamp   `json:"StreamCreationTimestamp"`
	ShardFilter             *shardFilter `json:"ShardFilter"`
}

type putRecordInput struct {
	streamRef
	Data                      []byte    `json:"Data"`
	PartitionKey              optString `json:"PartitionKey"`
	ExplicitHashKey           string    `json:"ExplicitHashKey"`
	SequenceNumberForOrdering string    `json:"SequenceNumberForOrdering"`
}

type putRecordsEntry struct {
	Data            []byte    `json:"Data"`
	ExplicitHashKey string    `json:"ExplicitHashKey"`
	PartitionKey    optString `json:"PartitionKey"`
}

type putRecordsInput struct {
	streamRef
	Records []putRecordsEntry `json:"Records"`
}

type getShardIteratorInput struct {
	streamRef
	ShardID                string     `json:"ShardId"`
	ShardIteratorType      string     `json:"ShardIteratorType"`
	StartingSequenceNumber string     `json:"StartingSequenceNumber"`
	Timestamp              *timestamp `json:"Timestamp"`
}

type getRecordsInput struct {
	streamRef
	ShardIterator string `json:"ShardIterator"`
	Limit         *int64 `json:"Limit"`
}

type retentionInput struct {
	streamRef
	RetentionPeriodHours *int64 `json:"RetentionPeriodHours"`
}

type addTagsInput struct {
	streamRef
	Tags map[string]string `json:"Tags"`
}

type removeTagsInput struct {
	streamRef
	TagKeys []string `json:"TagKeys"`
}

type listTagsForStreamInput struct {
	streamRef
	ExclusiveStartTagKey string `json:"ExclusiveStartTagKey"`
	Limit                *int64 `json:"Limit"`
}

type resourceInput struct {
	ResourceARN string            `json:"ResourceARN"`
	StreamID    string            `json:"StreamId"`
	Tags        map[string]string `json:"Tags"`
	TagKeys     []string          `json:"TagKeys"`
	Policy      *string           `json:"Policy"`
}

type mergeShardsInput struct {
	streamRef
	ShardToMerge         string `json:"ShardToMerge"`
	AdjacentShardToMerge string `json:"AdjacentShardToMerge"`
}

type splitShardInput struct {
	streamRef
	ShardToSplit       string `json:"ShardToSplit"`
	NewStartingHashKey string `json:"NewStartingHashKey"`
}

type updateShardCountInput struct {
	streamRef
	TargetShardCount *int64 `json:"TargetShardCount"`
	ScalingType      string `json:"ScalingType"`
}

type updateStreamModeInput struct {
	streamRef
	StreamModeDetails   *streamModeDetails `json:"StreamModeDetails"`
	WarmThroughputMiBps *int64             `json:"WarmThroughputMiBps"`
}

type updateMaxRecordSizeInput struct {
	streamRef
	MaxRecordSizeInKiB *int64 `json:"MaxRecordSizeInKiB"`
}

type updateWarmThroughputInput struct {
	streamRef
	WarmThroughputMiBps *int64 `json:"WarmThroughputMiBps"`
}

type encryptionInput struct {
	streamRef
	EncryptionType string `json:"EncryptionType"`
	KeyID          string `json:"KeyId"`
}

type monitoringInput struct {
	streamRef
	ShardLevelMetrics []string `json:"ShardLevelMetrics"`
}

type consumerInput struct {
	StreamARN    optString         `json:"StreamARN"`
	StreamID     string            `json:"StreamId"`
	ConsumerName string            `json:"ConsumerName"`
	ConsumerARN  string            `json:"ConsumerARN"`
	Tags         map[string]string `json:"Tags"`
}

type listConsumersInput struct {
	StreamARN               optString  `json:"StreamARN"`
	StreamID                string     `json:"StreamId"`
	NextToken               string     `json:"NextToken"`
	MaxResults              *int64     `json:"MaxResults"`
	StreamCreationTimestamp *timestamp `json:"StreamCreationTimestamp"`
}

type startingPosition struct {
	Type           string     `json:"Type"`
	SequenceNumber string     `json:"SequenceNumber"`
	Timestamp      *timestamp `json:"Timestamp"`
}

type subscribeToShardInput struct {
	ConsumerARN      string            `json:"ConsumerARN"`
	StreamID         string            `json:"StreamId"`
	ShardID          string            `json:"ShardId"`
	StartingPosition *startingPosition `json:"StartingPosition"`
}

type updateAccountSettingsInput struct {
	MinimumThroughputBillingCommitment *struct {
		Status string `json:"Status"`
	} `json:"MinimumThroughputBillingCommitment"`
}

// optString is a string member whose presence matters. AWS validates a
// present empty string against the member's constraints (an empty
// PartitionKey fails "Member must have length greater than or equal to 1",
// an empty StreamName its pattern and length) and reports only an absent
// member as null (kinesalite records both from AWS, test/putRecord.js,
// test/putRecords.js). A JSON or CBOR null is absent.
type optString struct {
	s   string
	set bool
}

// present returns an optString that was sent with value s.
func present(s string) optString { return optString{s: s, set: true} }

// UnmarshalJSON implements json.Unmarshaler.
func (o *optString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &o.s); err != nil {
		return err
	}
	o.set = true
	return nil
}

// UnmarshalCBOR implements cbor.Unmarshaler. b is one whole data item. A
// definite-length text string of up to 64 KiB (every partition key and
// stream name) is taken here, as the decoder itself would take it into a
// string field; the nested decode for anything else costs about a tenth of
// a PutRecords record's decoding.
func (o *optString) UnmarshalCBOR(b []byte) error {
	if len(b) == 1 && (b[0] == 0xf6 || b[0] == 0xf7) { // null, undefined
		return nil
	}
	if s, ok := cborShortText(b); ok {
		o.s, o.set = s, true
		return nil
	}
	if err := cbor.Unmarshal(b, &o.s); err != nil {
		return err
	}
	o.set = true
	return nil
}

// cborShortText returns the text of b when b is exactly one
// definite-length, valid UTF-8 text string (major type 3) whose length
// fits the head's first 0–2 argument bytes.
func cborShortText(b []byte) (string, bool) {
	if len(b) == 0 || b[0]>>5 != 3 {
		return "", false
	}
	head, n := 1, int(b[0]&0x1f)
	switch {
	case n < 24:
	case n == 24 && len(b) >= 2:
		head, n = 2, int(b[1])
	case n == 25 && len(b) >= 3:
		head, n = 3, int(b[1])<<8|int(b[2])
	default:
		return "", false
	}
	if len(b) != head+n || !utf8.Valid(b[head:]) {
		return "", false
	}
	return string(b[head:]), true
}

// timestamp is a request timestamp. JSON carries epoch seconds as a number
// (botocore and the Go SDK send fractional seconds) or, from hand-written
// clients, an ISO-8601 string. CBOR carries tag 1 around an integer of epoch
// milliseconds (the Java SDK) or a float of epoch seconds (RFC 8949).
type timestamp struct {
	t time.Time
}

// timestampMillisMax bounds accepted timestamps to about ±3,000 years
// around 1970, far outside any stream's lifetime, so arithmetic on them
// cannot overflow.
const timestampMillisMax = 1e14

var errTimestampInvalid = errors.New("kinesis: invalid timestamp")

// UnmarshalJSON implements json.Unmarshaler.
func (ts *timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return errTimestampInvalid
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			ts.t = t
			return nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errTimestampInvalid
		}
		return ts.setSeconds(f)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return errTimestampInvalid
	}
	return ts.setSeconds(f)
}

// UnmarshalCBOR implements cbor.Unmarshaler.
func (ts *timestamp) UnmarshalCBOR(b []byte) error {
	var raw cbor.RawTag
	var content any
	if len(b) > 0 && b[0]>>5 == 6 {
		if err := cbor.Unmarshal(b, &raw); err != nil {
			return errTimestampInvalid
		}
		if raw.Number != cborTagEpoch {
			return errTimestampInvalid
		}
		if err := cbor.Unmarshal(raw.Content, &content); err != nil {
			return errTimestampInvalid
		}
	} else if err := cbor.Unmarshal(b, &content); err != nil {
		return errTimestampInvalid
	}
	switch v := content.(type) {
	case uint64:
		if v > timestampMillisMax {
			return errTimestampInvalid
		}
		ts.t = time.UnixMilli(int64(v))
	case int64:
		if v < -timestampMillisMax {
			return errTimestampInvalid
		}
		ts.t = time.UnixMilli(v)
	case float64:
		return ts.setSeconds(v)
	default:
		return errTimestampInvalid
	}
	return nil
}

func (ts *timestamp) setSeconds(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > timestampMillisMax/1e3 {
		return errTimestampInvalid
	}
	sec, frac := math.Modf(f)
	ts.t = time.Unix(int64(sec), int64(math.Round(frac*1e3))*int64(time.Millisecond))
	return nil
}
