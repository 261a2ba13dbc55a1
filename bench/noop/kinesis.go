package noop

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	kinesisTargetPrefix = "Kinesis_20131202."
	kinesisJSONType     = "application/x-amz-json-1.1"
	region              = "us-east-1"
)

// stream is what the noop server remembers of a created stream: its shard
// list, rendered once.
type stream struct {
	name       string
	shards     int
	shardsJSON string // JSON array of Shard objects
	created    time.Time
}

func newStream(name string, shards int) *stream {
	st := &stream{name: name, shards: shards, created: time.Now()}
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	var b strings.Builder
	b.WriteByte('[')
	for i := range shards {
		if i > 0 {
			b.WriteByte(',')
		}
		start := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(int64(shards)))
		end := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i+1))), big.NewInt(int64(shards)))
		end.Sub(end, big.NewInt(1))
		fmt.Fprintf(&b, `{"ShardId":%q,"HashKeyRange":{"StartingHashKey":%q,"EndingHashKey":%q},"SequenceNumberRange":{"StartingSequenceNumber":%q}}`,
			shardID(i), start.String(), end.String(), sequenceNumber(0))
	}
	b.WriteByte(']')
	st.shardsJSON = b.String()
	return st
}

func shardID(i int) string { return fmt.Sprintf("shardId-%012d", i) }

// sequenceNumber renders n as a 56-digit decimal, the shape of Kinesis
// sequence numbers.
func sequenceNumber(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 56-len(s)) + s
}

// shardFor maps a partition key to a shard as Kinesis does: MD5 of the key
// as a 128-bit number, split into equal ranges (using the top 64 bits).
func shardFor(partitionKey string, shards int) int {
	sum := md5.Sum([]byte(partitionKey))
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(sum[:8]), uint64(shards))
	return int(hi)
}

func (s *Server) stream(name string) *stream {
	s.streams.Lock()
	defer s.streams.Unlock()
	if st, ok := s.streams.byName[name]; ok {
		return st
	}
	// Unknown streams (created elsewhere, or before a restart) look like
	// one-shard streams.
	return newStream(name, 1)
}

// cannedRecords[n] is the JSON array of n canned records, built on demand.
var cannedRecords sync.Map // int → []byte

func cannedRecordsJSON(n int) []byte {
	if v, ok := cannedRecords.Load(n); ok {
		return v.([]byte)
	}
	data := base64.StdEncoding.EncodeToString([]byte(cannedBody))
	b := []byte{'['}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"SequenceNumber":"`+sequenceNumber(int64(i+1))+`","ApproximateArrivalTimestamp":`+now+`,"Data":"`+data+`","PartitionKey":"noop-`+strconv.Itoa(i)+`"}`...)
	}
	b = append(b, ']')
	v, _ := cannedRecords.LoadOrStore(n, b)
	return v.([]byte)
}

type kinesisRequest struct {
	StreamName   string         `json:"StreamName"`
	ShardCount   int            `json:"ShardCount"`
	PartitionKey string         `json:"PartitionKey"`
	ShardID      string         `json:"ShardId"`
	Limit        int            `json:"Limit"`
	Records      []kinesisEntry `json:"Records"`
}

type kinesisEntry struct {
	PartitionKey string `json:"PartitionKey"`
}

// scanKinesis fills req for PutRecord(s) without a full JSON decode (see
// scan.go); false means decode it.
func scanKinesis(doc []byte, action string, req *kinesisRequest) bool {
	if action != "PutRecord" && action != "PutRecords" {
		return false
	}
	name, ok := scanOne(doc, "StreamName")
	if !ok {
		return false
	}
	keys, ok := scanStrings(doc, "PartitionKey")
	if !ok || len(keys) == 0 || (action == "PutRecord" && len(keys) != 1) {
		return false
	}
	req.StreamName = name
	if action == "PutRecord" {
		req.PartitionKey = keys[0]
		return true
	}
	req.Records = make([]kinesisEntry, len(keys))
	for i, key := range keys {
		req.Records[i].PartitionKey = key
	}
	return true
}

func (s *Server) kinesis(ctx *fasthttp.RequestCtx, action string) {
	var req kinesisRequest
	if !scanKinesis(ctx.PostBody(), action, &req) {
		if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
			s.jsonError(ctx, kinesisJSONType, "SerializationException", "noop: bad JSON: "+err.Error())
			return
		}
	}
	ctx.Response.Header.SetContentType(kinesisJSONType)
	switch action {
	case "CreateStream":
		shards := req.ShardCount
		if shards <= 0 {
			shards = 1
		}
		if shards > shardsMax || req.StreamName == "" {
			s.jsonError(ctx, kinesisJSONType, "InvalidArgumentException", "noop: need a StreamName and 1..1000 shards")
			return
		}
		s.streams.Lock()
		if len(s.streams.byName) >= streamsMax {
			s.streams.Unlock()
			s.jsonError(ctx, kinesisJSONType, "LimitExceededException", "noop: too many streams")
			return
		}
		s.streams.byName[req.StreamName] = newStream(req.StreamName, shards)
		s.streams.Unlock()
		s.streamsCreated.Add(1)
		ctx.SetBodyString(`{}`)
	case "DeleteStream":
		s.streams.Lock()
		delete(s.streams.byName, req.StreamName)
		s.streams.Unlock()
		s.streamsDeleted.Add(1)
		ctx.SetBodyString(`{}`)
	case "DescribeStream":
		st := s.stream(req.StreamName)
		ctx.SetBodyString(`{"StreamDescription":{"StreamName":` + strconv.Quote(st.name) + `,"StreamARN":` + strconv.Quote(streamARN(st.name)) +
			`,"StreamStatus":"ACTIVE","Shards":` + st.shardsJSON + `,"HasMoreShards":false,"RetentionPeriodHours":24,"StreamCreationTimestamp":` +
			strconv.FormatInt(st.created.Unix(), 10) + `,"EnhancedMonitoring":[{"ShardLevelMetrics":[]}],"EncryptionType":"NONE"}}`)
	case "DescribeStreamSummary":
		st := s.stream(req.StreamName)
		ctx.SetBodyString(`{"StreamDescriptionSummary":{"StreamName":` + strconv.Quote(st.name) + `,"StreamARN":` + strconv.Quote(streamARN(st.name)) +
			`,"StreamStatus":"ACTIVE","RetentionPeriodHours":24,"StreamCreationTimestamp":` + strconv.FormatInt(st.created.Unix(), 10) +
			`,"EnhancedMonitoring":[{"ShardLevelMetrics":[]}],"EncryptionType":"NONE","OpenShardCount":` + strconv.Itoa(st.shards) + `,"ConsumerCount":0}}`)
	case "ListShards":
		ctx.SetBodyString(`{"Shards":` + s.stream(req.StreamName).shardsJSON + `}`)
	case "PutRecord":
		st := s.stream(req.StreamName)
		s.put.Add(1)
		ctx.SetBodyString(`{"ShardId":"` + shardID(shardFor(req.PartitionKey, st.shards)) + `","SequenceNumber":"` + sequenceNumber(s.sequence.Add(1)) + `","EncryptionType":"NONE"}`)
	case "PutRecords":
		st := s.stream(req.StreamName)
		b := make([]byte, 0, 64+len(req.Records)*100)
		b = append(b, `{"FailedRecordCount":0,"EncryptionType":"NONE","Records":[`...)
		for i, r := range req.Records {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"ShardId":"`+shardID(shardFor(r.PartitionKey, st.shards))+`","SequenceNumber":"`+sequenceNumber(s.sequence.Add(1))+`"}`...)
		}
		s.put.Add(int64(len(req.Records)))
		ctx.SetBody(append(b, `]}`...))
	case "GetShardIterator":
		ctx.SetBodyString(`{"ShardIterator":` + strconv.Quote("noop-iterator/"+req.StreamName+"/"+req.ShardID) + `}`)
	case "GetRecords":
		n := req.Limit
		if n <= 0 || n > cannedRecordsMax {
			n = cannedRecordsMax
		}
		s.read.Add(int64(n))
		b := make([]byte, 0, 128)
		b = append(b, `{"Records":`...)
		b = append(b, cannedRecordsJSON(n)...)
		b = append(b, `,"NextShardIterator":"noop-iterator","MillisBehindLatest":0}`...)
		ctx.SetBody(b)
	default:
		s.jsonError(ctx, kinesisJSONType, "UnknownOperationException", "noop: unsupported action "+action)
	}
}

func streamARN(name string) string {
	return "arn:aws:kinesis:" + region + ":" + accountID + ":stream/" + name
}
