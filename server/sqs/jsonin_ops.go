package sqs

// Fast decoders of the hot operations' inputs (see jsonin.go). Member
// names are the model's; each decoder also gives up on a key that matches
// one of its members only case-insensitively.

var sendMessageMembers = []string{"QueueUrl", "MessageBody", "DelaySeconds", "MessageAttributes",
	"MessageSystemAttributes", "MessageDeduplicationId", "MessageGroupId", "Id"}

// decodeMember decodes one SendMessage member; id, if not nil, receives
// a batch entry's Id.
func (in *sendMessageInput) decodeMember(r *jsonReader, key []byte, s *seen, id *string) bool {
	var ok bool
	switch string(key) {
	case "QueueUrl":
		if !s.first(0) {
			return false
		}
		in.QueueUrl, ok = r.stringValue(false)
	case "MessageBody":
		if !s.first(1) {
			return false
		}
		in.MessageBody, ok = r.stringValue(true)
	case "DelaySeconds":
		if !s.first(2) {
			return false
		}
		in.DelaySeconds, ok = r.intValue()
	case "MessageAttributes":
		if !s.first(3) {
			return false
		}
		in.MessageAttributes, ok = r.attrMap()
	case "MessageSystemAttributes":
		if !s.first(4) {
			return false
		}
		in.MessageSystemAttributes, ok = r.attrMap()
	case "MessageDeduplicationId":
		if !s.first(5) {
			return false
		}
		in.MessageDeduplicationId, ok = r.stringValue(false)
	case "MessageGroupId":
		if !s.first(6) {
			return false
		}
		in.MessageGroupId, ok = r.stringValue(false)
	case "Id":
		if id == nil {
			return r.skip()
		}
		if !s.first(7) {
			return false
		}
		*id, ok = r.stringValue(true)
	default:
		return r.unknown(key, sendMessageMembers...)
	}
	return ok
}

func (in *sendMessageInput) decodeFast(r *jsonReader) bool {
	var s seen
	return r.object(func(key []byte) bool { return in.decodeMember(r, key, &s, nil) })
}

func (in *sendMessageBatchInput) decodeFast(r *jsonReader) bool {
	var s seen
	return r.object(func(key []byte) bool {
		switch string(key) {
		case "QueueUrl":
			if !s.first(0) {
				return false
			}
			var ok bool
			in.QueueUrl, ok = r.stringValue(false)
			return ok
		case "Entries":
			if !s.first(1) {
				return false
			}
			in.Entries = make([]sendMessageBatchEntry, 0, batchEntriesMax)
			return r.array(func() bool {
				in.Entries = append(in.Entries, sendMessageBatchEntry{})
				e := &in.Entries[len(in.Entries)-1]
				var es seen
				return r.object(func(key []byte) bool { return e.decodeMember(r, key, &es, &e.Id) })
			})
		}
		return r.unknown(key, "QueueUrl", "Entries")
	})
}

var attrValueMembers = []string{"DataType", "StringValue", "BinaryValue", "StringListValues", "BinaryListValues"}

// attrMap decodes a MessageBodyAttributeMap (name → value); a repeated
// name replaces the earlier value, as encoding/json does.
func (r *jsonReader) attrMap() (attrMap, bool) {
	m := attrMap{}
	ok := r.object(func(key []byte) bool {
		var v attrValue
		var s seen
		ok := r.object(func(k []byte) bool {
			var ok bool
			switch string(k) {
			case "DataType":
				if !s.first(0) {
					return false
				}
				v.DataType, ok = r.stringValue(false)
			case "StringValue":
				if !s.first(1) {
					return false
				}
				var str string
				str, ok = r.stringValue(false)
				v.StringValue = &str
			case "BinaryValue":
				if !s.first(2) {
					return false
				}
				v.BinaryValue, ok = r.blob()
			case "StringListValues":
				if !s.first(3) {
					return false
				}
				v.StringListValues, ok = r.stringList()
			case "BinaryListValues":
				if !s.first(4) {
					return false
				}
				v.BinaryListValues = [][]byte{}
				ok = r.array(func() bool {
					b, ok := r.blob()
					v.BinaryListValues = append(v.BinaryListValues, b)
					return ok
				})
			default:
				return r.unknown(k, attrValueMembers...)
			}
			return ok
		})
		m[string(key)] = v
		return ok
	})
	return m, ok
}

var receiveMessageMembers = []string{"QueueUrl", "AttributeNames", "MessageSystemAttributeNames",
	"MessageAttributeNames", "MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds", "ReceiveRequestAttemptId"}

func (in *receiveMessageInput) decodeFast(r *jsonReader) bool {
	var s seen
	return r.object(func(key []byte) bool {
		var ok bool
		switch string(key) {
		case "QueueUrl":
			if !s.first(0) {
				return false
			}
			in.QueueUrl, ok = r.stringValue(false)
		case "AttributeNames":
			if !s.first(1) {
				return false
			}
			in.AttributeNames, ok = r.stringList()
		case "MessageSystemAttributeNames":
			if !s.first(2) {
				return false
			}
			in.MessageSystemAttributeNames, ok = r.stringList()
		case "MessageAttributeNames":
			if !s.first(3) {
				return false
			}
			in.MessageAttributeNames, ok = r.stringList()
		case "MaxNumberOfMessages":
			if !s.first(4) {
				return false
			}
			in.MaxNumberOfMessages, ok = r.intValue()
		case "VisibilityTimeout":
			if !s.first(5) {
				return false
			}
			in.VisibilityTimeout, ok = r.intValue()
		case "WaitTimeSeconds":
			if !s.first(6) {
				return false
			}
			in.WaitTimeSeconds, ok = r.intValue()
		case "ReceiveRequestAttemptId":
			if !s.first(7) {
				return false
			}
			in.ReceiveRequestAttemptId, ok = r.stringValue(false)
		default:
			return r.unknown(key, receiveMessageMembers...)
		}
		return ok
	})
}

var receiptMembers = []string{"QueueUrl", "ReceiptHandle", "VisibilityTimeout", "Id"}

// decodeReceiptMember decodes the members DeleteMessage,
// ChangeMessageVisibility and their batch entries share. Only the members
// the target has are accepted (nil pointers name absent members).
func (r *jsonReader) decodeReceiptMember(key []byte, s *seen, queueURL, id, handle *string, visibility **int) bool {
	var ok bool
	switch {
	case string(key) == "QueueUrl" && queueURL != nil:
		if !s.first(0) {
			return false
		}
		*queueURL, ok = r.stringValue(false)
	case string(key) == "ReceiptHandle" && handle != nil:
		if !s.first(1) {
			return false
		}
		*handle, ok = r.stringValue(true)
	case string(key) == "VisibilityTimeout" && visibility != nil:
		if !s.first(2) {
			return false
		}
		*visibility, ok = r.intValue()
	case string(key) == "Id" && id != nil:
		if !s.first(3) {
			return false
		}
		*id, ok = r.stringValue(true)
	default:
		return r.unknown(key, receiptMembers...)
	}
	return ok
}

func (in *deleteMessageInput) decodeFast(r *jsonReader) bool {
	var s seen
	return r.object(func(key []byte) bool {
		return r.decodeReceiptMember(key, &s, &in.QueueUrl, nil, &in.ReceiptHandle, nil)
	})
}

func (in *changeMessageVisibilityInput) decodeFast(r *jsonReader) bool {
	var s seen
	return r.object(func(key []byte) bool {
		return r.decodeReceiptMember(key, &s, &in.QueueUrl, nil, &in.ReceiptHandle, &in.VisibilityTimeout)
	})
}

func (in *receiptBatchInput) decodeFast(r *jsonReader) bool {
	var s seen
	return r.object(func(key []byte) bool {
		switch string(key) {
		case "QueueUrl":
			if !s.first(0) {
				return false
			}
			var ok bool
			in.QueueUrl, ok = r.stringValue(false)
			return ok
		case "Entries":
			if !s.first(1) {
				return false
			}
			in.Entries = make([]receiptEntry, 0, batchEntriesMax)
			return r.array(func() bool {
				in.Entries = append(in.Entries, receiptEntry{})
				e := &in.Entries[len(in.Entries)-1]
				var es seen
				return r.object(func(key []byte) bool {
					return r.decodeReceiptMember(key, &es, nil, &e.Id, &e.ReceiptHandle, &e.VisibilityTimeout)
				})
			})
		}
		return r.unknown(key, "QueueUrl", "Entries")
	})
}
