package sqs

import (
	"strconv"
	"unicode/utf8"

	"github.com/sluice-dev/sluice/server/awsproto"
)

// validateTags checks queue tags: at most 50, keys 1–128 and values 0–256
// characters, no "aws:" key prefix.
func validateTags(tags map[string]string) *awsproto.Error {
	if len(tags) > queueTagsMax {
		return invalidParameter("Too many tags added for queue. Tag count must not exceed " + strconv.Itoa(queueTagsMax) + ".")
	}
	for k, v := range tags {
		if n := utf8.RuneCountInString(k); n == 0 || n > tagKeyLengthMax {
			return invalidParameter("Tag keys must be between 1 and 128 characters in length.")
		}
		if utf8.RuneCountInString(v) > tagValueLengthMax {
			return invalidParameter("Tag values must be less than 256 characters in length.")
		}
		if len(k) >= 4 && (k[:4] == "aws:" || k[:4] == "AWS:") {
			return invalidParameter("Tag keys must not start with 'aws:'.")
		}
	}
	return nil
}
