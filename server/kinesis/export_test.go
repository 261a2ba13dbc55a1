package kinesis

// Test hooks for the external test package (kinesis_test).

// ForgeSequenceNumber formats a sequence number as the service would for a
// stream created at createdUnix (seconds): a well-formed one that need not
// exist, for tests of how such numbers are refused.
func ForgeSequenceNumber(createdUnix int64, shard uint32, seq uint64) string {
	return formatSequenceNumber(seqNumber{createdUnix: uint64(createdUnix) & mask36, shard: shard, seq: seq})
}
