package kinesis

import "time"

// Wire-level quotas of Kinesis Data Streams, as AWS documents them
// (/work/shared/AWS-LIMITS.md and the botocore model). Semantic limits that
// also bind embedded users (retention range, record size, shard-count
// scaling) are enforced by the engine; the ones here are request shapes.
const (
	// putRecordsEntriesMax bounds PutRecords.Records (botocore: max 500).
	putRecordsEntriesMax = 500
	// putRecordsBytesMax bounds the data plus partition keys of one
	// PutRecords call: 10 MiB.
	putRecordsBytesMax = 10 << 20
	// partitionKeyLengthMax is the longest partition key, in characters.
	partitionKeyLengthMax = 256
	// recordDataBytesDefaultMax is a record's data + key limit when the
	// stream keeps the default MaxRecordSizeInKiB (1024).
	recordDataBytesDefaultMax = 1 << 20

	// getRecordsRecordsMax and getRecordsBytesMax bound one GetRecords
	// answer: 10,000 records and 10 MiB.
	getRecordsRecordsMax = 10_000
	getRecordsBytesMax   = 10 << 20

	// shardIteratorLifetime is how long a shard iterator stays valid.
	shardIteratorLifetime = 5 * time.Minute

	// describeStreamShardsMax is DescribeStream's default and maximum
	// Limit (AWS returns at most 100 shards per call).
	describeStreamShardsMax = 100
	// listShardsResultsDefault and listShardsResultsMax are ListShards'
	// default page size and its MaxResults bound.
	listShardsResultsDefault = 1000
	listShardsResultsMax     = 10_000
	// listStreamsResultsDefault and listStreamsResultsMax bound a
	// ListStreams page: the model accepts a Limit up to 10,000, but "If you
	// specify a value greater than 100, at most 100 results are returned"
	// (botocore ListStreamsInput.Limit).
	listStreamsResultsDefault = 100
	listStreamsResultsMax     = 100
	// listConsumersResultsDefault and listConsumersResultsMax bound a
	// ListStreamConsumers page, likewise (MaxResults: "at most 100").
	listConsumersResultsDefault = 100
	listConsumersResultsMax     = 100
	// listTagsResultsDefault and listTagsResultsMax bound ListTagsForStream.
	listTagsResultsDefault = 50
	listTagsResultsMax     = 50
	// tagsPerStreamMax is how many tags a stream may carry; tagKeysPerCallMax
	// bounds one RemoveTagsFromStream/UntagResource call (TagKeyList) and
	// tagMapEntriesMax one tag map (TagMap, botocore: max 200).
	tagsPerStreamMax  = 50
	tagKeysPerCallMax = 50
	tagMapEntriesMax  = 200
	// tagKeyLengthMax and tagValueLengthMax are tag sizes in characters.
	tagKeyLengthMax   = 128
	tagValueLengthMax = 256

	// streamNameLengthMax and consumerNameLengthMax bound resource names.
	streamNameLengthMax   = 128
	consumerNameLengthMax = 128

	// streamOpenShardsMax bounds CreateStream's ShardCount: the engine
	// holds at most this many open shards in a stream (UpdateShardCount's
	// bound is the engine's, engine.ReshardOpenMax, with the same value).
	streamOpenShardsMax = 10_000

	// shardLimitDefault is the account shard quota DescribeLimits reports:
	// AWS's default for provisioned streams in us-east-1, us-west-2 and
	// eu-west-1 (the Kinesis developer guide's quotas page; 1,000 or
	// 6,000 elsewhere; 500 before 2024, as kinesalite still reports).
	shardLimitDefault = 20_000
	// onDemandStreamCountLimitDefault is the account on-demand stream quota.
	onDemandStreamCountLimitDefault = 50

	// subscriptionLifetime is how long one SubscribeToShard call streams.
	subscriptionLifetime = 5 * time.Minute
	// subscriptionHeartbeat is the longest gap between two events.
	subscriptionHeartbeat = 5 * time.Second
	// subscriptionEventRecordsMax and subscriptionEventBytesMax bound one
	// SubscribeToShardEvent (AWS: 2 MiB/s per shard per consumer).
	subscriptionEventRecordsMax = 10_000
	subscriptionEventBytesMax   = 2 << 20

	// readSizeHintSlots is the number of per-stream GetRecords size hints.
	readSizeHintSlots = 1024
	// readPresizeBytesMax bounds the output buffer GetRecords reserves
	// from a hint: 10 MiB of data in base64 plus framing.
	readPresizeBytesMax = getRecordsBytesMax/3*4 + getRecordsRecordsMax*256
)
