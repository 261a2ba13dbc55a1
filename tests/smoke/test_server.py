"""Server-core smoke tests: health, metrics, reset, and AWS error shapes as
boto3 and the AWS CLI parse them (unknown operations in both protocols)."""

import json
import unittest

import botocore.exceptions

import harness


class ServerTest(unittest.TestCase):
    def test_health(self):
        doc = harness.health()
        self.assertEqual(doc["status"], "ok")
        self.assertIsInstance(doc["services"], list)

    def test_metrics(self):
        harness.http("GET", "/?Action=NoSuchAction")
        status, headers, body = harness.http("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"sluice_requests_total{", body)

    def test_reset(self):
        harness.reset()

    def test_unknown_json_operation_boto3(self):
        # DynamoDB is not served: its X-Amz-Target is an unknown operation,
        # which boto3 must parse as a proper AWS error, not a transport error.
        dynamodb = harness.client("dynamodb")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            dynamodb.list_tables()
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], "UnknownOperationException")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertRegex(err["ResponseMetadata"]["RequestId"], r"^[0-9a-f-]{36}$")

    def test_sqs_error_code_boto3(self):
        # With SQS registered, a missing queue is the query-compatible code
        # (from x-amzn-query-error); without it, the target is unknown.
        sqs = harness.client("sqs")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            sqs.get_queue_url(QueueName="sluice-smoke-no-such-queue")
        code = ctx.exception.response["Error"]["Code"]
        if harness.serves("sqs"):
            self.assertEqual(code, "AWS.SimpleQueueService.NonExistentQueue")
        else:
            self.assertEqual(code, "UnknownOperationException")

    def test_query_protocol_boto3(self):
        # SNS speaks only the query protocol. Unregistered, its actions are
        # InvalidAction in the XML error shape.
        sns = harness.client("sns")
        if harness.serves("sns"):
            sns.list_topics()
            return
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            sns.list_topics()
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], "InvalidAction")
        self.assertEqual(err["Error"]["Type"], "Sender")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_unknown_operation_cli(self):
        out = harness.aws("dynamodb", "list-tables")
        self.assertNotEqual(out.returncode, 0, out.stdout)
        self.assertIn("UnknownOperationException", out.stderr)

    def test_malformed_json_body(self):
        status, headers, body = harness.http(
            "POST", "/", body=b'{"QueueName":',
            headers={"X-Amz-Target": "AmazonSQS.GetQueueUrl", "Content-Type": "application/x-amz-json-1.0"})
        self.assertEqual(status, 400)
        doc = json.loads(body)
        expected = "SerializationException" if harness.serves("sqs") else "UnknownOperationException"
        self.assertEqual(doc["__type"], expected)


if __name__ == "__main__":
    unittest.main()
