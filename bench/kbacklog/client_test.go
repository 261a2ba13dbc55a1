package kbacklog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/fxamacker/cbor/v2"
)

// client speaks the Kinesis wire protocol (JSON 1.1 or CBOR 1.1) to one
// endpoint, without signing: Sluice accepts unsigned requests.
type client struct {
	http     *http.Client
	endpoint string
	cbor     bool
}

func newClient(addr string, cborProtocol bool, conns int) *client {
	return &client{
		http:     &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}},
		endpoint: "http://" + addr + "/",
		cbor:     cborProtocol,
	}
}

// call posts in as operation op and decodes the answer into out. It
// returns the number of response body bytes.
func (c *client) call(ctx context.Context, op string, in, out any) (int, error) {
	var body []byte
	var err error
	contentType := "application/x-amz-json-1.1"
	if c.cbor {
		contentType = "application/x-amz-cbor-1.1"
		body, err = cbor.Marshal(in)
	} else {
		body, err = json.Marshal(in)
	}
	if err != nil {
		return 0, fmt.Errorf("%s: encoding request: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("Content-Type", contentType)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s: reading response: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = c.decode(raw, &e) // best effort: the status is the error
		return len(raw), fmt.Errorf("%s: HTTP %d %s: %s", op, resp.StatusCode, e.Type, e.Message)
	}
	if err := c.decode(raw, out); err != nil {
		return len(raw), fmt.Errorf("%s: decoding response of %d bytes: %w", op, len(raw), err)
	}
	return len(raw), nil
}

func (c *client) decode(raw []byte, out any) error {
	if c.cbor {
		return cbor.Unmarshal(raw, out)
	}
	return json.Unmarshal(raw, out)
}

// Request and response shapes (botocore kinesis service-2.json); the
// cbor codec falls back to the json tags.

type putRecordsEntry struct {
	Data         []byte `json:"Data"`
	PartitionKey string `json:"PartitionKey"`
}

type putRecordsInput struct {
	StreamName string            `json:"StreamName"`
	Records    []putRecordsEntry `json:"Records"`
}

type putRecordsOutput struct {
	FailedRecordCount int `json:"FailedRecordCount"`
	Records           []struct {
		SequenceNumber string `json:"SequenceNumber"`
		ShardID        string `json:"ShardId"`
		ErrorCode      string `json:"ErrorCode"`
		ErrorMessage   string `json:"ErrorMessage"`
	} `json:"Records"`
}

type getRecordsOutput struct {
	Records []struct {
		SequenceNumber string `json:"SequenceNumber"`
		Data           []byte `json:"Data"`
	} `json:"Records"`
	NextShardIterator  string `json:"NextShardIterator"`
	MillisBehindLatest int64  `json:"MillisBehindLatest"`
}
