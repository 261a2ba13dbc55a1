package sqs

import "github.com/valyala/fastjson"

// Fast decoders of the hot operations' inputs (see jsonin.go). Member
// names are the model's, matched exactly; any other key (including one
// encoding/json would match case-insensitively) gives up.

// decodeMember decodes one SendMessage member; id, if not nil, receives
// a batch entry's Id.
func (in *sendMessageInput) decodeMember(d *jsonDecoder, key []byte, v *fastjson.Value, s *seen, id *string) bool {
	var ok bool
	switch string(key) {
	case "QueueUrl":
		if !s.first(0) {
			return false
		}
		in.QueueUrl, ok = d.stringValue(v)
	case "MessageBody":
		if !s.first(1) {
			return false
		}
		in.MessageBody, ok = d.borrowed(v)
		in.bodyASCII = ok && d.ascii
	case "DelaySeconds":
		if !s.first(2) {
			return false
		}
		in.DelaySeconds, ok = d.intValue(v)
	case "MessageAttributes":
		if !s.first(3) {
			return false
		}
		in.MessageAttributes, ok = d.attrMap(v)
	case "MessageSystemAttributes":
		if !s.first(4) {
			return false
		}
		in.MessageSystemAttributes, ok = d.attrMap(v)
	case "MessageDeduplicationId":
		if !s.first(5) {
			return false
		}
		in.MessageDeduplicationId, ok = d.stringValue(v)
	case "MessageGroupId":
		if !s.first(6) {
			return false
		}
		in.MessageGroupId, ok = d.stringValue(v)
	case "Id":
		if id == nil || !s.first(7) {
			return false
		}
		*id, ok = d.borrowed(v)
	}
	return ok
}

func (in *sendMessageInput) decodeFast(d *jsonDecoder, v *fastjson.Value) bool {
	var s seen
	return object(v, func(key []byte, v *fastjson.Value) bool { return in.decodeMember(d, key, v, &s, nil) })
}

func (in *sendMessageBatchInput) decodeFast(d *jsonDecoder, v *fastjson.Value) bool {
	return decodeBatchFast(d, v, &in.QueueUrl, &in.Entries, func(e *sendMessageBatchEntry, es *seen, key []byte, v *fastjson.Value) bool {
		return e.decodeMember(d, key, v, es, &e.Id)
	})
}

// decodeBatchFast decodes the {QueueUrl, Entries} shape every batch
// action shares; member decodes one member of one entry.
func decodeBatchFast[E any](d *jsonDecoder, v *fastjson.Value, queueURL *string, entries *[]E, member func(e *E, es *seen, key []byte, v *fastjson.Value) bool) bool {
	var s seen
	return object(v, func(key []byte, v *fastjson.Value) bool {
		switch string(key) {
		case "QueueUrl":
			if !s.first(0) {
				return false
			}
			var ok bool
			*queueURL, ok = d.stringValue(v)
			return ok
		case "Entries":
			if !s.first(1) {
				return false
			}
			a, err := v.Array()
			if err != nil {
				return false
			}
			*entries = make([]E, len(a))
			for i, ev := range a {
				e := &(*entries)[i]
				var es seen
				if !object(ev, func(key []byte, v *fastjson.Value) bool { return member(e, &es, key, v) }) {
					return false
				}
			}
			return true
		}
		return false
	})
}

// attrMap decodes a MessageBodyAttributeMap (name → value); a repeated
// name replaces the earlier value, as encoding/json does.
func (d *jsonDecoder) attrMap(v *fastjson.Value) (attrMap, bool) {
	m := attrMap{}
	ok := object(v, func(key []byte, v *fastjson.Value) bool {
		var a attrValue
		var s seen
		ok := object(v, func(k []byte, v *fastjson.Value) bool {
			var ok bool
			switch string(k) {
			case "DataType":
				if !s.first(0) {
					return false
				}
				a.DataType, ok = d.stringValue(v)
			case "StringValue":
				if !s.first(1) {
					return false
				}
				var str string
				str, ok = d.stringValue(v)
				a.StringValue = &str
			case "BinaryValue":
				if !s.first(2) {
					return false
				}
				a.BinaryValue, ok = d.blob(v)
			case "StringListValues":
				if !s.first(3) {
					return false
				}
				a.StringListValues, ok = d.stringList(v)
			case "BinaryListValues":
				if !s.first(4) {
					return false
				}
				list, err := v.Array()
				if err != nil {
					return false
				}
				a.BinaryListValues = make([][]byte, len(list))
				ok = true
				for i, e := range list {
					if a.BinaryListValues[i], ok = d.blob(e); !ok {
						break
					}
				}
			}
			return ok
		})
		m[string(key)] = a
		// The name must be text encoding/json decodes the same.
		return ok && d.plain(key)
	})
	return m, ok
}

func (in *receiveMessageInput) decodeFast(d *jsonDecoder, v *fastjson.Value) bool {
	var s seen
	return object(v, func(key []byte, v *fastjson.Value) bool {
		var ok bool
		switch string(key) {
		case "QueueUrl":
			if !s.first(0) {
				return false
			}
			in.QueueUrl, ok = d.stringValue(v)
		case "AttributeNames":
			if !s.first(1) {
				return false
			}
			in.AttributeNames, ok = d.stringList(v)
		case "MessageSystemAttributeNames":
			if !s.first(2) {
				return false
			}
			in.MessageSystemAttributeNames, ok = d.stringList(v)
		case "MessageAttributeNames":
			if !s.first(3) {
				return false
			}
			in.MessageAttributeNames, ok = d.stringList(v)
		case "MaxNumberOfMessages":
			if !s.first(4) {
				return false
			}
			in.MaxNumberOfMessages, ok = d.intValue(v)
		case "VisibilityTimeout":
			if !s.first(5) {
				return false
			}
			in.VisibilityTimeout, ok = d.intValue(v)
		case "WaitTimeSeconds":
			if !s.first(6) {
				return false
			}
			in.WaitTimeSeconds, ok = d.intValue(v)
		case "ReceiveRequestAttemptId":
			if !s.first(7) {
				return false
			}
			in.ReceiveRequestAttemptId, ok = d.stringValue(v)
		}
		return ok
	})
}

// decodeReceiptMember decodes the members DeleteMessage,
// ChangeMessageVisibility and their batch entries share. Only the members
// the target has are accepted (nil pointers name absent members).
func (d *jsonDecoder) decodeReceiptMember(key []byte, v *fastjson.Value, s *seen, queueURL, id, handle *string, visibility **int) bool {
	var ok bool
	switch {
	case string(key) == "QueueUrl" && queueURL != nil:
		if !s.first(0) {
			return false
		}
		*queueURL, ok = d.stringValue(v)
	case string(key) == "ReceiptHandle" && handle != nil:
		if !s.first(1) {
			return false
		}
		*handle, ok = d.borrowed(v)
	case string(key) == "VisibilityTimeout" && visibility != nil:
		if !s.first(2) {
			return false
		}
		*visibility, ok = d.intValue(v)
	case string(key) == "Id" && id != nil:
		if !s.first(3) {
			return false
		}
		*id, ok = d.borrowed(v)
	}
	return ok
}

func (in *deleteMessageInput) decodeFast(d *jsonDecoder, v *fastjson.Value) bool {
	var s seen
	return object(v, func(key []byte, v *fastjson.Value) bool {
		return d.decodeReceiptMember(key, v, &s, &in.QueueUrl, nil, &in.ReceiptHandle, nil)
	})
}

func (in *changeMessageVisibilityInput) decodeFast(d *jsonDecoder, v *fastjson.Value) bool {
	var s seen
	return object(v, func(key []byte, v *fastjson.Value) bool {
		return d.decodeReceiptMember(key, v, &s, &in.QueueUrl, nil, &in.ReceiptHandle, &in.VisibilityTimeout)
	})
}

func (in *receiptBatchInput) decodeFast(d *jsonDecoder, v *fastjson.Value) bool {
	return decodeBatchFast(d, v, &in.QueueUrl, &in.Entries, func(e *receiptEntry, es *seen, key []byte, v *fastjson.Value) bool {
		return d.decodeReceiptMember(key, v, es, nil, &e.Id, &e.ReceiptHandle, &e.VisibilityTimeout)
	})
}
