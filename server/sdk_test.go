package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

func TestMain(m *testing.M) {
	// aws-sdk-go-v2 refuses to load config when AWS_CA_BUNDLE is set and
	// the client is custom; the machine sets it.
	os.Unsetenv("AWS_CA_BUNDLE")
	code := m.Run()
	if code == 0 {
		if leaks := leakedGoroutines(); leaks != "" {
			fmt.Fprintln(os.Stderr, "FAIL: "+leaks)
			code = 1
		}
	}
	os.Exit(code)
}

func sdkConfig(t *testing.T) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("eu-central-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSDKErrorParsing checks, with the real aws-sdk-go-v2 clients, that the
// router's error shapes deserialize into the SDKs' typed errors: SQS's
// query-compatible JSON error (typed by __type, coded by
// x-amzn-query-error), Kinesis's JSON 1.1 error, and that the SigV4 region
// reaches the handler.
func TestSDKErrorParsing(t *testing.T) {
	var region string
	sqsService := &Service{
		Name: "sqs", TargetPrefix: "AmazonSQS", JSONVersion: "1.0", QueryCompatible: true,
		JSON: map[string]HandlerFunc{
			"GetQueueUrl": func(req *Request, resp *Response) error {
				region = req.Region
				return errNotFound
			},
			"ListQueues": func(req *Request, resp *Response) error {
				return resp.Encode(map[string][]string{"QueueUrls": {"http://" + req.Host + "/000000000000/a"}})
			},
		},
	}
	ts := startServer(t, Config{}, sqsService, fakeKinesis())
	cfg := sdkConfig(t)
	sqsClient := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(ts.url) })

	_, err := sqsClient.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
	var notFound *sqstypes.QueueDoesNotExist
	if !errors.As(err, &notFound) {
		t.Fatalf("GetQueueUrl error = %v (%T), want *types.QueueDoesNotExist", err, err)
	}
	if notFound.ErrorCode() != "AWS.SimpleQueueService.NonExistentQueue" || notFound.ErrorMessage() != "The specified queue does not exist." {
		t.Fatalf("code %q message %q", notFound.ErrorCode(), notFound.ErrorMessage())
	}
	if region != "eu-central-1" {
		t.Fatalf("handler saw region %q", region)
	}
	out, err := sqsClient.ListQueues(context.Background(), &sqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 1 || out.QueueUrls[0] != ts.url+"/000000000000/a" {
		t.Fatalf("ListQueues = %+v, %v", out, err)
	}
	_, err = sqsClient.PurgeQueue(context.Background(), &sqs.PurgeQueueInput{QueueUrl: aws.String(ts.url + "/000000000000/a")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" {
		t.Fatalf("unregistered operation error = %v", err)
	}

	kinesisClient := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(ts.url) })
	_, err = kinesisClient.DescribeStream(context.Background(), &kinesis.DescribeStreamInput{StreamName: aws.String("s")})
	var rnf *kinesistypes.ResourceNotFoundException
	if !errors.As(err, &rnf) || rnf.ErrorMessage() != "Stream s not found" {
		t.Fatalf("DescribeStream error = %v (%T)", err, err)
	}
	streams, err := kinesisClient.ListStreams(context.Background(), &kinesis.ListStreamsInput{})
	if err != nil || len(streams.StreamNames) != 1 || streams.StreamNames[0] != "a" {
		t.Fatalf("ListStreams = %+v, %v", streams, err)
	}
}
