package sqs

// SendMessageBatch: QueueUrl, Entries (1–10; Id [A-Za-z0-9_-]{1,80},
// distinct; each entry has SendMessage's members). Query:
// SendMessageBatchRequestEntry.N.{Id,MessageBody,DelaySeconds,
// MessageAttribute.M...,MessageSystemAttribute.M...,MessageGroupId,
// MessageDeduplicationId}.
//
// Request-level errors: EmptyBatchRequest, TooManyEntriesInBatchRequest,
// InvalidBatchEntryId, BatchEntryIdsNotDistinct, BatchRequestTooLong (summed
// message sizes over 1 MiB), and on FIFO queues an entry without
// MessageGroupId or (without ContentBasedDeduplication)
// MessageDeduplicationId (checkFIFOBatch). Other entry-level validation
// failures are reported in Failed (SenderFault=true) and do not stop the
// other entries, which the engine appends in one log write.
//
// Differences from AWS: as SendMessage.

import (
	"crypto/md5"
	"errors"
	"strconv"
	"strings"

	"github.com/sluice-dev/sluice/engine"
	"github.com/sluice-dev/sluice/server"
	"github.com/sluice-dev/sluice/server/awsproto"
	"github.com/sluice-dev/sluice/server/internal/md5x8"
)

type sendMessageBatchEntry struct {
	Id string //nolint:revive // model member name
	sendMessageInput
}

type sendMessageBatchInput struct {
	QueueUrl string //nolint:revive // model member name
	Entries  []sendMessageBatchEntry
}

func (in *sendMessageBatchInput) fromForm(f *awsproto.Form) error {
	in.QueueUrl = f.Value("QueueUrl")
	members, err := f.Members("SendMessageBatchRequestEntry")
	if err != nil {
		return err
	}
	in.Entries = make([]sendMessageBatchEntry, len(members))
	for i, m := range members {
		e := &in.Entries[i]
		e.Id = m.Fields.Value("Id")
		if err := e.fromFields(m.Fields); err != nil {
			return err
		}
	}
	return nil
}

// checkFIFOBatch fails a FIFO queue's whole batch when an entry lacks
// MessageGroupId, or lacks MessageDeduplicationId while the queue has no
// ContentBasedDeduplication, as SQS does: InvalidParameterValue for the
// request, not a Failed entry (LocalStack's AWS-recorded
// test_sqs.snapshot.json, test_send_batch_missing_message_group_id_for_fifo_queue
// and test_send_batch_missing_deduplication_id_for_fifo_queue). Callers
// skip it for queues whose name lacks ".fifo" (no FIFO queue has such a
// name); the queue's attributes are read only when an entry lacks an id.
func checkFIFOBatch(q queueHandle, entries []sendMessageBatchEntry) *awsproto.Error {
	missing := false
	for i := range entries {
		missing = missing || entries[i].MessageGroupId == "" || entries[i].MessageDeduplicationId == ""
	}
	if !missing {
		return nil
	}
	a := q.Info().Attributes
	if !a.FIFO {
		return nil
	}
	for i := range entries {
		e := &entries[i]
		if e.MessageGroupId == "" {
			return invalidParameter("The request must contain the parameter MessageGroupId.")
		}
		if e.MessageDeduplicationId == "" && !a.ContentBasedDeduplication {
			return invalidParameter("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
	}
	return nil
}

// batchFailure is one Failed entry of a batch result.
type batchFailure struct {
	id  string
	err *awsproto.Error
}

func writeBatchFailures(o *out, failures []batchFailure) {
	o.listStart("Failed")
	for _, f := range failures {
		o.itemStart("BatchResultErrorEntry")
		o.str("Id", f.id)
		o.boolean("SenderFault", f.err.Sender)
		o.str("Code", f.err.Code)
		if f.err.Message != "" {
			o.str("Message", f.err.Message)
		}
		o.itemEnd("BatchResultErrorEntry")
	}
	o.listEnd()
}

func (s *service) sendMessageBatch(req *server.Request, resp *server.Response) error {
	var in sendMessageBatchInput
	held, err := decodeHot(req, &in)
	defer held.release() // in borrows the parser's memory
	if err != nil {
		return err
	}
	r, err := s.queueByURL(req, in.QueueUrl)
	if err != nil {
		return err
	}
	// Fixed-size arrays keep the per-entry scratch on the stack (a batch
	// holds at most batchEntriesMax entries once validateBatchShape passed;
	// ids is sliced before that check, so it grows if it must).
	var idsArr [batchEntriesMax]string
	ids := idsArr[:0]
	for i := range in.Entries {
		ids = append(ids, in.Entries[i].Id)
	}
	if err := validateBatchShape(ids, "SendMessageBatchRequestEntry"); err != nil {
		return err
	}
	if strings.HasSuffix(r.ref.Name, fifoSuffix) {
		if err := checkFIFOBatch(r.q, in.Entries); err != nil {
			return err
		}
	}
	var preparedArr [batchEntriesMax]preparedMessage
	var entryErrArr [batchEntriesMax]*awsproto.Error
	var indexArr [batchEntriesMax]int
	prepared := preparedArr[:len(in.Entries)]
	entryErr := entryErrArr[:len(in.Entries)]
	// The bodies' MD5s together, several messages per vector instruction;
	// an entry that fails validation wastes its digest.
	var bodies [batchEntriesMax]string
	var digests [batchEntriesMax][md5.Size]byte
	for i := range in.Entries {
		bodies[i] = in.Entries[i].MessageBody
	}
	md5x8.Sums(digests[:], bodies[:len(in.Entries)])
	total := 0
	for i := range in.Entries {
		e := &in.Entries[i]
		total += len(e.MessageBody)
		for name, v := range e.MessageAttributes {
			total += len(name) + len(v.DataType) + len(v.BinaryValue)
			if v.StringValue != nil {
				total += len(*v.StringValue)
			}
		}
		prepared[i], entryErr[i] = prepareMessage(&e.sendMessageInput, req.Account, digests[i])
		dropFIFOZeroDelay(r.ref.Name, &prepared[i].msg)
	}
	if total > batchPayloadSizeMax {
		return batchTooLong(total)
	}
	msgs := make([]engine.SendMessage, 0, len(in.Entries))
	index := indexArr[:0] // msgs[k] is entry index[k]
	for i := range prepared {
		if entryErr[i] == nil {
			msgs = append(msgs, prepared[i].msg)
			index = append(index, i)
		}
	}
	var results []engine.SendResult
	if len(msgs) > 0 {
		results, err = r.q.Send(req.Context, msgs)
		if err != nil {
			return s.sendEntryError(r.q, &msgs[0], err)
		}
		if len(results) != len(msgs) {
			return errors.New("sqs: BUG: engine returned " + strconv.Itoa(len(results)) + " results for " + strconv.Itoa(len(msgs)) + " messages")
		}
		for k := range results {
			if results[k].Err != nil {
				entryErr[index[k]] = s.sendEntryError(r.q, &msgs[k], results[k].Err)
			}
		}
	}
	o := newOut(req, resp)
	o.begin("SendMessageBatchResult")
	o.listStart("Successful")
	for k, i := range index {
		if entryErr[i] != nil {
			continue
		}
		o.itemStart("SendMessageBatchResultEntry")
		o.str("Id", in.Entries[i].Id)
		writeSendResult(&o, &prepared[i], &results[k])
		o.itemEnd("SendMessageBatchResultEntry")
	}
	o.listEnd()
	var failures []batchFailure
	for i, e := range entryErr {
		if e != nil {
			failures = append(failures, batchFailure{id: in.Entries[i].Id, err: e})
		}
	}
	writeBatchFailures(&o, failures)
	o.end("SendMessageBatchResult")
	resp.B = o.B
	return nil
}
