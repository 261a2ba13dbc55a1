package engine

// # Queues (SQS semantics)
//
// A queue is one segment log (partition 0 of its entity) plus an in-memory
// visibility state machine (visibility.go) and a little persisted state in
// the index (queue_state.go). Files: queue.go (catalog, handles, attributes,
// purge), queue_send.go, queue_receive.go, queue_ack.go (delete, visibility),
// queue_wait.go (long polling), fifo.go + dedup.go (FIFO), redrive.go (DLQ),
// movetask.go, receipt.go, queue_record.go (the key block), queue_validate.go.
//
// Send appends one record per message in one Append: Key = the key block
// (message id, attributes, system attributes, group, dedup id, sender,
// delay-until; queue_record.go), Payload = body, Timestamp = send time. It
// returns after the append is durable per Options.Sync and writes nothing
// to the index, so its cost is one key-block encoding and one UUID per
// message plus the log's group commit.
//
// Hot-path costs (queue_bench_test.go, 10 x 1 KiB with one attribute,
// sync=never, 2 shared cores; TestQueueHotPathAllocs pins the allocation
// counts): Send(10) allocates 2 times (results, one string holding all
// message ids; FIFO 5: plus sequence numbers, one dedup slab and its
// channel), about 3.4 µs of process CPU per message (FIFO 5.5), most of it
// the log's write(2). Receive(10)+Delete(10) allocates 18 times and costs
// about 5-7 µs of CPU per message: one state per newly tracked message,
// then per call one byte slab (receipts, bodies, binary values), one
// string (every id, attribute and sequence-number string is a substring
// of it, decoded from the copied key blocks), one attribute slab; index
// keys are built in per-queue scratch buffers. What remains is reading
// the log (frame checksums), one map entry per delivery and per delete
// (the write-behind state, below) and those allocations.
//
// Receive hands out, in order: messages whose visibility expired, then new
// messages scanned from the read cursor, skipping deleted, retention-expired
// and not-yet-due delayed messages. State in memory: an ack floor (all
// below is finished), the cursor, a sparse tracked set between them
// (in flight, visible again, delayed, moving) and one deadline heap; memory
// is bounded by the in-flight cap (120,000), delayedMax and fifoBufferMax,
// never by the backlog: a 5-million-message backlog stays in the log.
// Nothing rescans all messages; retention jumps the cursor with one
// SeekTimestamp and whole segments are deleted (DeleteBefore(floor),
// DeleteOlderThan(now-retention)) by the queue's flush, at most once a
// minute.
//
// Receipts (receipt.go) encode (queue entity id, seq, delivery generation)
// plus a checksum; they are parsed strictly (ErrReceiptInvalid) and fuzzed.
// Stale receipts: Delete on a standard queue deletes anyway (AWS: an old
// receipt "might" delete); on a FIFO queue it returns ErrReceiptStale (AWS:
// "The receipt handle has expired"). ChangeVisibility with a stale receipt
// applies to the current delivery on a standard queue (as AWS) and returns
// ErrReceiptStale on a FIFO queue; with the receipt of a message deleted,
// expired or moved since, ErrReceiptStale; on a message not in flight
// ErrMessageNotInflight; beyond 12 h after the delivery a *ValidationError.
//
// # Durability and the at-least-once window
//
// Acknowledged sends are in the log (durable per Options.Sync, fsync by
// default) before Send returns. Receives, deletes and visibility changes
// are write-behind: each records the message's latest state in memory, and
// each queue writes those states to the index and syncs it at most 100 ms
// (stateSyncInterval) after its first change, and on Close; a state whose
// message is below the ack floor by then is never written (queue_state.go).
// After a crash, of the process as well as of the machine, deletes,
// receive counts and visibility changes of roughly the last 100 ms (plus
// one fsync) can be lost: those messages are delivered again (so a SIGKILL
// right after Delete returns undoes the delete: tests/crash
// TestEngineDeleteSurvivesProcessCrash, build tag crashbugs. Closing that
// window costs an fsync per call). Dead-letter moves also commit their
// deletes to the index at once, unsynced, so that the synced commits that
// follow (a move task's progress) carry them. Acknowledged, not deleted,
// not expired messages are never lost. After a restart, in-flight messages
// stay in flight until their deadline and their receipts stay valid (the
// receive state is persisted); in-flight state lost in the window resets to
// visible. A dead-letter move appends to the DLQ before deleting from the
// source: a crash in between leaves the message in both (never in neither).
//
// # Long polling
//
// Receive with a wait parks a waiter on the queue's list and blocks in the
// caller's goroutine; sends, visibility expiry and delays becoming due (one
// timer per queue, armed only while waiters exist) wake exactly as many
// waiters as messages became available. Idle waiters cost no CPU.
//
// # FIFO
//
// Messages are ordered per MessageGroupId; a group with a message in
// flight delivers nothing more; a receive takes as many messages of the
// available group whose head became visible first (sent, or back from
// flight) as fit, then the next group. Deduplication (5
// minutes, explicit id or SHA-256 of the body, scope queue or messageGroup)
// lives in memory and is rebuilt at open from the last 5 minutes of the
// log (back to the last purge at most: a purge clears it); a duplicate returns the original message id and sequence number with
// Duplicate set. Sequence numbers are 10^20 + log seq as a 21-digit decimal.
// ReceiveRequestAttemptId retries within 5 minutes return the same messages
// and receipts while all are still in flight (and reset their visibility).
// Attempt ids are persisted in the batch of their deliveries (same
// durability window), so a retry after a restart, the usual reason for a
// retry, still gets its messages instead of finding their groups locked.
//
// # FIFO throughput (FifoThroughputLimit, DeduplicationScope)
//
// AWS throttles FIFO queues: in normal mode (FifoThroughputLimit perQueue)
// 300 transactions per second per API action (SendMessage, ReceiveMessage,
// DeleteMessage; 3,000 messages/s with batches of 10) per partition, with
// ThrottlingException beyond; high-throughput mode (perMessageGroupId with
// DeduplicationScope messageGroup) raises that to a region-dependent
// quota spread over partitions by message group id. Sluice enforces the
// semantics and none of the rates:
//
//   - DeduplicationScope is enforced: "queue" deduplicates ids across the
//     whole queue, "messageGroup" only within a group (the same id in two
//     groups stores two messages).
//   - FifoThroughputLimit is validated (perMessageGroupId requires
//     messageGroup scope, as AWS) and stored, and changes nothing else:
//     ordering per group, one in-flight batch per group, receive filling
//     from the oldest available groups and the 120,000 in-flight cap are
//     the same in both modes.
//   - No FIFO call is ever throttled, in either mode: a queue runs as fast
//     as its log (one partition, group commit). Sluice is for development,
//     CI and self-hosting, where an artificial 300 TPS ceiling would only
//     slow tests; code that must survive AWS's ThrottlingException needs
//     AWS (or a fault-injecting proxy) to test that path. (Kinesis shard
//     limits, by contrast, can be switched on: DB.SetStreamLimits.)
//
// # What lives where
//
// The engine holds SQS semantics (limits, ordering, dedup, redrive, delay,
// retention, visibility, purge and delete-name-reuse timing). server/sqs
// holds AWS names, error codes, ARNs, queue URLs and MD5 digests.
// The 60-second windows of ErrQueueDeletedRecently and ErrPurgeInProgress
// are persisted (the delete time with the catalog delete, the purge time
// with the purge's floor), so a restart does not shorten them. Message
// move tasks are index records (movetask.go): a task that was running when
// the DB closed or crashed resumes when it opens again, with its handle,
// rate and count of messages moved.
