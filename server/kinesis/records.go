package kinesis

import (
	"errors"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/engine"
)

// Data plane: PutRecord, PutRecords, GetShardIterator, GetRecords.
//
// Known differences from AWS: SequenceNumberForOrdering is validated and
// otherwise ignored (sequence numbers always increase within a shard);
// throughput limits apply only when the engine enforces them.

func (s *Service) putRecord(c *call) error {
	var in putRecordInput
	scratch := acquirePutScratch()
	defer scratch.release() // after Put: the engine keeps none of it
	if c.cbor || !decodePutRecordJSON(c.body, &in, scratch) {
		in = putRecordInput{}
		if err := c.decode(&in); err != nil {
			return err
		}
	}
	// Violations are listed in AWS's order (sequenceNumberForOrdering,
	// partitionKey, explicitHashKey, data, then the stream), as kinesalite
	// records it from AWS (test/putRecord.js).
	var v validator
	v.sequenceNumber("sequenceNumberForOrdering", in.SequenceNumberForOrdering)
	v.required("partitionKey", in.PartitionKey.set)
	if in.PartitionKey.set {
		v.length("partitionKey", in.PartitionKey.s, 1, partitionKeyLengthMax)
	}
	v.hashKey("explicitHashKey", in.ExplicitHashKey)
	v.required("data", in.Data != nil)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	info := st.Info()
	rec, err := toEngineRecord(&info, in.Data, in.PartitionKey.s, in.ExplicitHashKey)
	if err != nil {
		return err
	}
	results, err := st.Put(c.ctx, []engine.PutRecord{rec})
	if err != nil {
		return streamError(err, t.ns, t.name)
	}
	r := results[0]
	if r.Err != nil {
		if errors.Is(r.Err, engine.ErrThroughputExceeded) {
			return errThroughput.WithMessage(throughputMessage(t, r.Shard))
		}
		return streamError(r.Err, t.ns, t.name)
	}
	var buf [64]byte
	e := &c.out
	e.objStart()
	e.key("ShardId")
	e.strBytes(appendShardID(buf[:0], r.Shard))
	e.key("SequenceNumber")
	e.strBytes(appendSequenceNumber(buf[:0], streamSeq(&info, r.Shard, r.Seq)))
	writeEncryptionType(e, &info)
	e.objEnd()
	return nil
}

func writeEncryptionType(e *encoder, info *engine.StreamInfo) {
	typ := info.EncryptionType
	if typ == "" {
		typ = "NONE"
	}
	e.kstr("EncryptionType", typ)
}

func throughputMessage(t target, shard int) string {
	return "Rate exceeded for shard " + shardID(shard) + " in stream " + t.name + " under account " + t.ns.Account + "."
}

// toEngineRecord checks one record against the stream's record size limit
// and the hash key range, and converts it. Data stays borrowed from the
// decoded request.
func toEngineRecord(info *engine.StreamInfo, data []byte, key, explicit string) (engine.PutRecord, error) {
	rec := engine.PutRecord{PartitionKey: key, Data: data}
	limit := info.MaxRecordSizeKiB << 10
	if limit == 0 {
		limit = recordDataBytesDefaultMax
	}
	if len(data)+len(key) > limit {
		var v validator
		v.fail("'java.nio.HeapByteBuffer[pos=0 lim="+itoa(len(data))+" cap="+itoa(len(data))+"]'", "data",
			"Member must have length less than or equal to "+itoa(limit))
		return rec, v.err()
	}
	if explicit != "" {
		h, err := engine.ParseUint128(explicit)
		if err != nil {
			return rec, invalidArgument("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was " + explicit)
		}
		rec.ExplicitHashKey = &h
	}
	return rec, nil
}

func (s *Service) putRecords(c *call) error {
	var in putRecordsInput
	scratch := acquirePutScratch()
	defer scratch.release() // after Put: the engine keeps none of it
	if c.cbor || !decodePutRecordsJSON(c.body, &in, scratch) {
		in = putRecordsInput{}
		if err := c.decode(&in); err != nil {
			return err
		}
	}
	var v validator
	v.required("records", in.Records != nil)
	switch {
	case in.Records == nil:
	case len(in.Records) == 0:
		v.fail("'[]'", "records", "Member must have length greater than or equal to 1")
	case len(in.Records) > putRecordsEntriesMax:
		v.fail("'[…]'", "records", "Member must have length less than or equal to "+itoa(putRecordsEntriesMax))
	}
	total := 0
	for i := range in.Records {
		r := &in.Records[i]
		key := r.PartitionKey.s
		total += len(r.Data) + len(key)
		keyBad := key == "" || len(key) > partitionKeyLengthMax && utf8.RuneCountInString(key) > partitionKeyLengthMax
		if r.Data != nil && !keyBad && (r.ExplicitHashKey == "" || isHashKeyPattern(r.ExplicitHashKey)) {
			continue // valid: no member names to build (they cost allocations per record)
		}
		if len(v.messages) >= validationErrorsMax {
			break // AWS lists no more; the call fails anyway
		}
		// AWS's order within a record: partitionKey, explicitHashKey, data
		// (kinesalite test/putRecords.js).
		member := "records." + itoa(i+1) + ".member."
		v.required(member+"partitionKey", r.PartitionKey.set)
		if r.PartitionKey.set && keyBad {
			v.length(member+"partitionKey", key, 1, partitionKeyLengthMax)
		}
		v.hashKey(member+"explicitHashKey", r.ExplicitHashKey)
		v.required(member+"data", r.Data != nil)
	}
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	if total > putRecordsBytesMax {
		return invalidArgument("Records size exceeds 10 MB limit.")
	}
	info := st.Info()
	recs := slices.Grow(scratch.records[:0], len(in.Records))[:len(in.Records)]
	scratch.records = recs
	for i := range in.Records {
		r := &in.Records[i]
		if recs[i], err = toEngineRecord(&info, r.Data, r.PartitionKey.s, r.ExplicitHashKey); err != nil {
			return err
		}
	}
	results, err := st.Put(c.ctx, recs)
	if err != nil {
		return streamError(err, t.ns, t.name)
	}
	s.writePutRecordsResult(c, &info, t, results)
	return nil
}

func (s *Service) writePutRecordsResult(c *call, info *engine.StreamInfo, t target, results []engine.PutResult) {
	failed := 0
	for i := range results {
		if results[i].Err != nil {
			failed++
		}
	}
	var buf [64]byte
	e := &c.out
	e.objStart()
	e.kint("FailedRecordCount", int64(failed))
	e.key("Records")
	e.arrStart()
	for i := range results {
		r := &results[i]
		e.elem()
		e.objStart()
		switch {
		case r.Err == nil:
			e.key("SequenceNumber")
			e.strBytes(appendSequenceNumber(buf[:0], streamSeq(info, r.Shard, r.Seq)))
			e.key("ShardId")
			e.strBytes(appendShardID(buf[:0], r.Shard))
		case errors.Is(r.Err, engine.ErrThroughputExceeded):
			e.kstr("ErrorCode", "ProvisionedThroughputExceededException")
			e.kstr("ErrorMessage", throughputMessage(t, r.Shard))
		default:
			s.log.Error("kinesis: put record failed", "stream", t.name, "shard", r.Shard, "err", r.Err)
			e.kstr("ErrorCode", "InternalFailure")
			e.kstr("ErrorMessage", "Internal service failure.")
		}
		e.objEnd()
	}
	e.arrEnd()
	writeEncryptionType(e, info)
	e.objEnd()
}

// findShard returns the shard with the given AWS id, or a
// ResourceNotFoundException naming it.
func findShard(info *engine.StreamInfo, t target, id string) (*engine.ShardInfo, error) {
	if idx, ok := parseShardID(id); ok {
		for i := range info.Shards {
			if info.Shards[i].Index == idx {
				return &info.Shards[i], nil
			}
		}
	}
	return nil, shardNotFound(t.ns, t.name, id)
}

func (s *Service) getShardIterator(c *call) error {
	var in getShardIteratorInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("shardId", in.ShardID != "")
	v.name("shardId", in.ShardID, 128)
	v.required("shardIteratorType", in.ShardIteratorType != "")
	v.enum("shardIteratorType", in.ShardIteratorType, iteratorTypes...)
	v.sequenceNumber("startingSequenceNumber", in.StartingSequenceNumber)
	st, t, err := s.openStream(c, in.streamRef, &v)
	if err != nil {
		return err
	}
	info := st.Info()
	sh, err := findShard(&info, t, in.ShardID)
	if err != nil {
		return err
	}
	if err := checkIteratorSequenceNumber(in.ShardIteratorType, in.StartingSequenceNumber); err != nil {
		return err
	}
	seq, err := startPosition(st, &info, sh, in.ShardIteratorType, in.StartingSequenceNumber, in.Timestamp, "StartingSequenceNumber")
	if err != nil {
		return streamError(err, t.ns, t.name)
	}
	tok := s.iterators.issue(shardIterator{
		account: t.ns.Account, region: t.ns.Region, stream: t.name,
		entityID: info.EntityID, shard: uint32(sh.Index), seq: seq, issued: s.now(),
	})
	e := &c.out
	e.objStart()
	e.kstr("ShardIterator", tok)
	e.objEnd()
	return nil
}

// checkIteratorSequenceNumber refuses a GetShardIterator whose type and
// StartingSequenceNumber disagree, with AWS's text (kinesalite
// actions/getShardIterator.js, test/getShardIterator.js; the same text is
// quoted from AWS in akkadotnet/Alpakka#160, 2020):
// AT_/AFTER_SEQUENCE_NUMBER need one, TRIM_HORIZON and LATEST take none.
func checkIteratorSequenceNumber(typ, seq string) error {
	var problem string
	switch {
	case (typ == "AT_SEQUENCE_NUMBER" || typ == "AFTER_SEQUENCE_NUMBER") && seq == "":
		problem = " and no StartingSequenceNumber."
	case (typ == "TRIM_HORIZON" || typ == "LATEST") && seq != "":
		problem = " and also a StartingSequenceNumber."
	default:
		return nil
	}
	return invalidArgument("Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or " +
		"(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified " + typ + problem)
}

var iteratorTypes = []string{"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"}

// startPosition resolves an iterator type to the log sequence to read
// next. member names the sequence number parameter in messages.
func startPosition(st *engine.Stream, info *engine.StreamInfo, sh *engine.ShardInfo, typ, seqText string, ts *timestamp, member string) (uint64, error) {
	switch typ {
	case "TRIM_HORIZON":
		first, _, err := st.Bounds(sh.Index)
		return first, err
	case "LATEST":
		_, next, err := st.Bounds(sh.Index)
		return next, err
	case "AT_TIMESTAMP":
		if ts == nil {
			return 0, invalidArgument("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		}
		return st.SeekTimestamp(sh.Index, ts.t)
	case "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER":
		// The other types ask the engine, which refuses reads the stream's
		// state forbids (CREATING); a sequence number alone would not.
		if _, _, err := st.Bounds(sh.Index); err != nil {
			return 0, err
		}
		if seqText == "" {
			return 0, invalidArgument("Must specify " + member + " for iterator of type " + typ + ".")
		}
		n, err := parseSequenceNumber(seqText)
		if err != nil || n.createdUnix != uint64(info.Created.Unix())&mask36 {
			return 0, invalidArgument("Invalid " + member + ". It does not belong to shard " + shardID(sh.Index) + " of stream " + info.Name + ".")
		}
		if int(n.shard) != sh.Index {
			return 0, invalidArgument("Invalid " + member + ". It encodes " + shardID(int(n.shard)) +
				", while it was used in a call to a shard with " + shardID(sh.Index))
		}
		if typ == "AFTER_SEQUENCE_NUMBER" {
			return n.seq + 1, nil
		}
		return n.seq, nil
	}
	return 0, invalidArgument("Invalid ShardIteratorType " + typ + ".")
}

// unquoteIterator strips one pair of double quotes around a shard
// iterator. AWS reads records through an iterator passed as "ITERATOR", as
// the AWS CLI easily sends it (LocalStack's AWS-validated
// test_get_records_shard_iterator_with_surrounding_quotes,
// localstack/localstack#9884; kinesis-mock strips them too). Iterators are
// base64, which has no '"', so nothing valid is changed. The length
// constraint (1 to 512) applies to the value as sent.
func unquoteIterator(tok string) string {
	if len(tok) >= 2 && tok[0] == '"' && tok[len(tok)-1] == '"' {
		return tok[1 : len(tok)-1]
	}
	return tok
}

func (s *Service) getRecords(c *call) error {
	var in getRecordsInput
	if err := c.decode(&in); err != nil {
		return err
	}
	var v validator
	v.required("shardIterator", in.ShardIterator != "")
	if in.ShardIterator != "" {
		v.length("shardIterator", in.ShardIterator, 1, 512)
	}
	v.intRange("limit", in.Limit, 1, getRecordsRecordsMax)
	v.streamARN("streamARN", in.StreamARN)
	if err := v.err(); err != nil {
		return err
	}
	it, err := s.iterators.decode(unquoteIterator(in.ShardIterator))
	if err != nil {
		return invalidArgument("Invalid ShardIterator.")
	}
	now := s.now()
	if it.expired(now) {
		return errExpiredIterator.WithMessage("Iterator expired. The iterator was created at time " +
			it.issued.UTC().Format(time.UnixDate) + " while right now it is " + now.UTC().Format(time.UnixDate) +
			" which is further in the future than the tolerated delay of 300000 milliseconds.")
	}
	t := target{ns: engine.Namespace{Account: it.account, Region: it.region}, name: it.stream}
	st, err := s.db.Stream(t.ns, t.name)
	if err != nil {
		return streamError(err, t.ns, t.name)
	}
	info := st.Info()
	if info.EntityID != it.entityID {
		return invalidArgument("Invalid ShardIterator.")
	}
	limit := getRecordsRecordsMax
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	return s.readRecords(c, st, &info, t, it, limit, now)
}

// GetRecords answer sizing. A maximum answer is 10 MiB of data: ~14 MB of
// base64 in JSON. Appending it from empty copies it at every 1.25x growth
// step (~5x its size allocated), and a fresh buffer per answer is garbage
// that each in-flight answer keeps until the next collection (issue 4:
// ~70 MiB of heap per in-flight answer). So readRecords reserves the room
// once, from the server's buffer pool, before the first record: the
// records' sizes are bounded before they are read (base64 length is exact,
// the framing around each record is bounded, the data + partition keys of
// one answer are at most getRecordsBytesMax), and a per-stream hint keeps
// a small answer from taking a 16 MiB buffer. A record that does not fit
// after all (the hint was low, or a partition key needs JSON escapes)
// grows the buffer to what the rest of the answer likely needs: once,
// unless more keys need escapes.
const (
	// recordFramingMax bounds what writeRecord writes for one record
	// besides its data and partition key, in either encoding: member
	// names, the sequence number (56 digits), the timestamp, the
	// encryption type, braces and the separating comma.
	recordFramingMax = 192
	// answerTailMax bounds the answer's envelope: its opening, the
	// NextShardIterator (base64 of at most iteratorBytesMax bytes) or
	// ChildShards (two children of a split or merge), and
	// MillisBehindLatest.
	answerTailMax = 2048
)

// recordSizeMax bounds the bytes writeRecord (plus elem) writes for a
// record of dataBytes of data and a partition key of keyBytes.
func recordSizeMax(e *encoder, dataBytes, keyBytes int) int {
	return recordFramingMax + e.blobSizeMax(dataBytes) + e.strSizeMax(keyBytes)
}

// answerSizeLikely bounds the records part of an answer of at most records
// records holding at most budgetBytes of data + partition keys, when no
// partition key needs JSON escapes (the only unbounded case: six bytes per
// key byte; recordSizeMax covers it record by record).
func answerSizeLikely(e *encoder, records, budgetBytes int) int {
	if records <= 0 {
		return 0
	}
	perRecord := recordFramingMax + e.blobSizeMax(0) + e.strSizeMax(0) + 3 // + base64 padding
	if e.cbor {
		return records*perRecord + budgetBytes
	}
	return records*perRecord + (budgetBytes+2)/3*4
}

// readRecords writes the GetRecords output for one read from it.seq. The
// records' data is base64-encoded straight from the engine's borrowed
// slices into the output buffer, which is reserved once up front (see
// recordFramingMax).
func (s *Service) readRecords(c *call, st *engine.Stream, info *engine.StreamInfo, t target, it shardIterator, limit int, now time.Time) error {
	shard := int(it.shard)
	first, tip, err := st.Bounds(shard)
	if err != nil {
		return streamError(err, t.ns, t.name)
	}
	e := &c.out
	hint := &s.readSizeHints[info.EntityID%readSizeHintSlots]
	expected := int(min(uint64(limit), tip-min(max(it.seq, first), tip)))
	size := answerSizeLikely(e, expected, getRecordsBytesMax)
	if perRecord := int(hint.Load()); perRecord > 0 {
		// The last answer's bytes per record, an eighth more for records
		// that vary in size.
		size = min(size, expected*(perRecord+perRecord/8))
	}
	e.reserve(min(size, readPresizeBytesMax) + answerTailMax)
	start := len(e.b)
	e.objStart()
	e.key("Records")
	e.arrStart()
	var lastArrival time.Time
	kms := info.EncryptionType == "KMS"
	var seqBuf [64]byte
	count, budgetBytes := 0, getRecordsBytesMax
	next, err := st.Read(shard, it.seq, limit, getRecordsBytesMax, func(r *engine.StreamRecord) error {
		if need := recordSizeMax(e, len(r.Data), len(r.PartitionKey)); need > cap(e.b)-len(e.b)-answerTailMax {
			growAnswer(e, r, need, expected-count-1, limit-count-1, budgetBytes-len(r.Data)-len(r.PartitionKey))
		}
		e.elem()
		writeRecord(e, info, shard, r, kms, &seqBuf)
		lastArrival = r.Arrival
		count++
		budgetBytes -= len(r.Data) + len(r.PartitionKey)
		return nil
	})
	if err != nil {
		return streamError(err, t.ns, t.name)
	}
	e.arrEnd()
	if count > 0 {
		hint.Store(int64(len(e.b)-start)/int64(count) + 1)
	}
	e.reserve(answerTailMax) // normally there already: no copy
	if _, tip, err = st.Bounds(shard); err != nil {
		return streamError(err, t.ns, t.name)
	}
	sh := shardByIndex(info, shard)
	if sh != nil && !sh.Open() && next >= sh.EndSeq {
		// Read to the end of a closed shard: no next iterator, the children.
		writeChildShards(e, info, shard)
		e.kint("MillisBehindLatest", 0)
		e.objEnd()
		return nil
	}
	it.seq, it.issued = next, now
	e.kstr("NextShardIterator", s.iterators.issue(it))
	behind := int64(0)
	if next < tip && !lastArrival.IsZero() {
		behind = max(now.Sub(lastArrival).Milliseconds(), 0)
	}
	e.kint("MillisBehindLatest", behind)
	e.objEnd()
	return nil
}

// growAnswer makes room for a record r of need bytes (its bound) and what
// is likely to follow it: expected more records sized like r, but no more
// than recordsMax records holding budgetBytes could take. When more
// records come than expected (puts since Bounds), the buffer at least
// doubles, so they do not grow it (and copy it) one by one.
func growAnswer(e *encoder, r *engine.StreamRecord, need, expected, recordsMax, budgetBytes int) {
	rest := max(expected, 0) * answerSizeLikely(e, 1, len(r.Data)+len(r.PartitionKey))
	n := max(need+rest, len(e.b))
	n = min(n, need+answerSizeLikely(e, recordsMax, max(budgetBytes, 0)))
	e.reserve(n + answerTailMax)
}

func shardByIndex(info *engine.StreamInfo, index int) *engine.ShardInfo {
	for i := range info.Shards {
		if info.Shards[i].Index == index {
			return &info.Shards[i]
		}
	}
	return nil
}

// writeChildShards writes ChildShards: the shards split or merged from
// parent, each with its parents and hash range.
func writeChildShards(e *encoder, info *engine.StreamInfo, parent int) {
	var buf [32]byte
	e.key("ChildShards")
	e.arrStart()
	for i := range info.Shards {
		ch := &info.Shards[i]
		if ch.Parent != parent && ch.AdjacentParent != parent {
			continue
		}
		e.elem()
		e.objStart()
		e.key("ShardId")
		e.strBytes(appendShardID(buf[:0], ch.Index))
		e.key("ParentShards")
		e.arrStart()
		for _, p := range []int{ch.Parent, ch.AdjacentParent} {
			if p >= 0 {
				e.elem()
				e.strBytes(appendShardID(buf[:0], p))
			}
		}
		e.arrEnd()
		writeHashKeyRange(e, ch)
		e.objEnd()
	}
	e.arrEnd()
}
