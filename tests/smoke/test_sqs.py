"""SQS smoke tests against bin/sluice: boto3 over the default AWS JSON 1.0
protocol, boto3 over the query protocol (botocore's current SQS model only
declares JSON, so a query-protocol model is derived from it, see
query_model()), and the AWS CLI.

Every test uses queues with unique names, so the suites do not depend on
each other or on reset()."""

import base64
import copy
import hashlib
import json
import os
import shutil
import tempfile
import time
import unittest
import uuid

import boto3
import botocore.config
import botocore.exceptions
import botocore.session

import harness


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def require_sqs():
    if not harness.serves("sqs"):
        raise unittest.SkipTest("this sluice binary does not register SQS (see /health)")


def error_code(ctx):
    return ctx.exception.response["Error"]["Code"]


class SQSJSONTest(unittest.TestCase):
    """boto3 with its default protocol (JSON, awsQueryCompatible codes)."""

    @classmethod
    def setUpClass(cls):
        require_sqs()
        cls.sqs = harness.client("sqs")

    def create(self, name, **kwargs):
        url = self.sqs.create_queue(QueueName=name, **kwargs)["QueueUrl"]
        self.addCleanup(self.sqs.delete_queue, QueueUrl=url)
        return url

    def test_message_flow(self):
        name = unique("flow")
        url = self.create(name, Attributes={"VisibilityTimeout": "60"}, tags={"team": "smoke"})
        self.assertTrue(url.endswith("/000000000000/" + name), url)
        self.assertEqual(self.sqs.get_queue_url(QueueName=name)["QueueUrl"], url)
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "smoke"})
        self.assertIn(url, self.sqs.list_queues(QueueNamePrefix=name)["QueueUrls"])

        body = "héllo <smoke> & \"quotes\""
        sent = self.sqs.send_message(
            QueueUrl=url, MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"},
                               "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"}})
        self.assertEqual(sent["MD5OfMessageBody"], md5(body))
        self.assertIn("MD5OfMessageAttributes", sent)

        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                       MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
        self.assertEqual(len(got["Messages"]), 1)
        msg = got["Messages"][0]
        self.assertEqual(msg["Body"], body)
        self.assertEqual(msg["MessageId"], sent["MessageId"])
        self.assertEqual(msg["MD5OfBody"], md5(body))
        self.assertEqual(msg["MD5OfMessageAttributes"], sent["MD5OfMessageAttributes"])
        self.assertEqual(msg["Attributes"]["ApproximateReceiveCount"], "1")
        self.assertEqual(msg["MessageAttributes"]["raw"]["BinaryValue"], b"\x00\x01\x02")

        counts = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(counts["ApproximateNumberOfMessagesNotVisible"], "1")
        self.assertEqual(counts["VisibilityTimeout"], "60")

        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)
        again = self.sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
        self.assertEqual(again[0]["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertNotEqual(again[0]["ReceiptHandle"], msg["ReceiptHandle"])
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])

        entries = [{"Id": f"e{i}", "MessageBody": f"batch {i}"} for i in range(10)]
        batch = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
        self.assertEqual(len(batch["Successful"]), 10)
        self.assertEqual(batch.get("Failed", []), [])
        received = []
        while len(received) < 10:
            out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            self.assertIn("Messages", out, "batch messages went missing")
            received += out["Messages"]
        self.assertEqual(sorted(m["Body"] for m in received), sorted(e["MessageBody"] for e in entries))
        deleted = self.sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)])
        self.assertEqual(len(deleted["Successful"]), 10)

        self.sqs.send_message(QueueUrl=url, MessageBody="to purge")
        self.sqs.purge_queue(QueueUrl=url)
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        self.assertEqual(attrs["Attributes"]["ApproximateNumberOfMessages"], "0")

    def test_fifo(self):
        url = self.create(unique("order") + ".fifo",
                          Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})
        first = self.sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g")
        dup = self.sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g")
        self.assertEqual(dup["MessageId"], first["MessageId"])
        for i in range(1, 5):
            self.sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g")
        out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
        msgs = out["Messages"]
        self.assertEqual([m["Body"] for m in msgs], [f"m{i}" for i in range(5)])
        seqs = [int(m["Attributes"]["SequenceNumber"]) for m in msgs]
        self.assertEqual(seqs, sorted(seqs))
        # The group is locked while its messages are in flight. (An empty
        # receive is "Messages": [] over JSON, as on AWS, and no member over
        # the query protocol.)
        self.assertFalse(self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"))
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.sqs.send_message(QueueUrl=url, MessageBody="x")
        self.assertEqual(error_code(ctx), "MissingParameter")

    def test_long_poll(self):
        url = self.create(unique("poll"))
        start = time.monotonic()
        out = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        elapsed = time.monotonic() - start
        self.assertFalse(out.get("Messages"))
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 5)

    def test_dead_letter_redrive_and_move_task(self):
        dlq = self.create(unique("dlq"))
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
        src = self.create(unique("src"), Attributes={"VisibilityTimeout": "0", "RedrivePolicy": policy})
        src_arn = self.sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sqs.send_message(QueueUrl=src, MessageBody="poison")
        self.assertEqual(len(self.sqs.receive_message(QueueUrl=src)["Messages"]), 1)
        self.assertFalse(self.sqs.receive_message(QueueUrl=src).get("Messages"))  # moved
        moved = self.sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"], VisibilityTimeout=0)["Messages"]
        self.assertEqual(moved[0]["Body"], "poison")
        self.assertEqual(moved[0]["Attributes"]["DeadLetterQueueSourceArn"], src_arn)
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [src])

        handle = self.sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
        self.assertTrue(handle)
        back = self.sqs.receive_message(QueueUrl=src, WaitTimeSeconds=10)
        self.assertEqual(back["Messages"][0]["Body"], "poison")
        tasks = self.sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        self.assertEqual(tasks[0]["SourceArn"], dlq_arn)
        self.assertIn(tasks[0]["Status"], ("RUNNING", "COMPLETED"))

    def test_errors(self):
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.sqs.get_queue_url(QueueName=unique("missing"))
        self.assertEqual(error_code(ctx), "AWS.SimpleQueueService.NonExistentQueue")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

        name = unique("errors")
        url = self.create(name, Attributes={"DelaySeconds": "1"})
        with self.assertRaises(self.sqs.exceptions.QueueNameExists):
            self.sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "2"})
        with self.assertRaises(self.sqs.exceptions.ReceiptHandleIsInvalid):
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-receipt!")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "43201"})
        self.assertEqual(error_code(ctx), "InvalidAttributeValue")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"}, {"Id": "a", "MessageBody": "2"}])
        self.assertEqual(error_code(ctx), "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")


# Serialization hints the query protocol needs and botocore's JSON-only SQS
# model lacks: the XML/form name of flattened list members, of map entries
# and of map-valued members.
_QUERY_LIST_MEMBER_NAMES = {"MessageSystemAttributeList": "MessageSystemAttributeName"}
_QUERY_MAP_MEMBER_NAMES = {
    "QueueAttributeMap": "Attribute",
    "MessageSystemAttributeMap": "Attribute",
    "MessageBodyAttributeMap": "MessageAttribute",
    "MessageBodySystemAttributeMap": "MessageSystemAttribute",
    "TagMap": "Tag",
}


def query_model(json_model):
    """Derives SQS's query-protocol model (as botocore shipped it until SQS
    moved to JSON) from the JSON model: protocol and XML namespace,
    result wrappers, and location names of list members, map keys/values
    and map-valued members."""
    model = copy.deepcopy(json_model)
    meta = model["metadata"]
    meta["protocol"] = "query"
    meta["protocols"] = ["query"]
    meta["xmlNamespace"] = "http://queue.amazonaws.com/doc/2012-11-05/"
    meta.pop("jsonVersion", None)
    meta.pop("targetPrefix", None)
    meta.pop("awsQueryCompatible", None)
    for name, op in model["operations"].items():
        if "output" in op:
            op["output"]["resultWrapper"] = name + "Result"
    for name, shape in model["shapes"].items():
        if shape["type"] == "list" and shape.get("flattened"):
            shape["member"].setdefault("locationName", _QUERY_LIST_MEMBER_NAMES.get(name, name.removesuffix("List")))
        elif shape["type"] == "map":
            tag = name == "TagMap"
            shape["key"].setdefault("locationName", "Key" if tag else "Name")
            shape["value"].setdefault("locationName", "Value")
            if name in _QUERY_MAP_MEMBER_NAMES:
                shape.setdefault("locationName", _QUERY_MAP_MEMBER_NAMES[name])
        elif shape["type"] == "structure":
            for member in shape["members"].values():
                target = member["shape"]
                if target in _QUERY_MAP_MEMBER_NAMES:
                    member.setdefault("locationName", _QUERY_MAP_MEMBER_NAMES[target])
    return model


class SQSQueryTest(unittest.TestCase):
    """boto3 over the query protocol (form bodies, XML responses), as older
    SDKs and tools speak it."""

    @classmethod
    def setUpClass(cls):
        require_sqs()
        base = botocore.session.get_session()
        json_model = base.get_component("data_loader").load_service_model("sqs", "service-2")
        cls.data_dir = tempfile.mkdtemp(prefix="sluice-sqs-query-model-")
        model_dir = os.path.join(cls.data_dir, "sqs", json_model["metadata"]["apiVersion"])
        os.makedirs(model_dir)
        with open(os.path.join(model_dir, "service-2.json"), "w") as f:
            json.dump(query_model(json_model), f)
        session = botocore.session.get_session()
        session.get_component("data_loader").search_paths.insert(0, cls.data_dir)
        config = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=60)
        cls.sqs = boto3.Session(botocore_session=session).client(
            "sqs", endpoint_url=harness.endpoint(), region_name=harness.REGION,
            aws_access_key_id="test", aws_secret_access_key="test", config=config)
        if cls.sqs.meta.service_model.protocol != "query":
            raise unittest.SkipTest("botocore did not load the derived query-protocol model")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, "data_dir", ""), ignore_errors=True)

    def test_message_flow(self):
        name = unique("query")
        url = self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "45"}, tags={"via": "query"})["QueueUrl"]
        self.addCleanup(self.sqs.delete_queue, QueueUrl=url)
        self.assertEqual(self.sqs.get_queue_url(QueueName=name)["QueueUrl"], url)
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"via": "query"})
        self.assertEqual(self.sqs.list_queues(QueueNamePrefix=name)["QueueUrls"], [url])

        body = "query <body> & more"
        sent = self.sqs.send_message(QueueUrl=url, MessageBody=body, DelaySeconds=0,
                                     MessageAttributes={"n": {"DataType": "Number", "StringValue": "42"},
                                                        "b": {"DataType": "Binary", "BinaryValue": b"\xff\x00"}})
        self.assertEqual(sent["MD5OfMessageBody"], md5(body))
        batch = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "one", "MessageBody": "b1"}, {"Id": "bad", "MessageBody": "\x01"}])
        self.assertEqual([e["Id"] for e in batch["Successful"]], ["one"])
        self.assertEqual(batch["Failed"][0]["Code"], "InvalidMessageContents")

        out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"])
        msgs = {m["Body"]: m for m in out["Messages"]}
        self.assertEqual(set(msgs), {body, "b1"})
        m = msgs[body]
        self.assertEqual(m["MD5OfMessageAttributes"], sent["MD5OfMessageAttributes"])
        self.assertEqual(m["MessageAttributes"]["n"]["StringValue"], "42")
        self.assertEqual(m["MessageAttributes"]["b"]["BinaryValue"], b"\xff\x00")
        self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "1")

        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=100)
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        deleted = self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "x", "ReceiptHandle": msgs["b1"]["ReceiptHandle"]}, {"Id": "y", "ReceiptHandle": "garbage!"}])
        self.assertEqual([e["Id"] for e in deleted["Successful"]], ["x"])
        self.assertEqual(deleted["Failed"][0]["Code"], "ReceiptHandleIsInvalid")
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["VisibilityTimeout"], "45")
        self.assertEqual(attrs["ApproximateNumberOfMessages"], "0")
        self.assertEqual(attrs["ApproximateNumberOfMessagesNotVisible"], "0")

    def test_errors(self):
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.sqs.get_queue_url(QueueName=unique("missing"))
        self.assertEqual(error_code(ctx), "AWS.SimpleQueueService.NonExistentQueue")
        self.assertEqual(ctx.exception.response["Error"]["Type"], "Sender")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.sqs.create_queue(QueueName=unique("bad"), Attributes={"MessageRetentionPeriod": "59"})
        self.assertEqual(error_code(ctx), "InvalidAttributeValue")


class SQSCLITest(unittest.TestCase):
    """The AWS CLI's sqs commands."""

    @classmethod
    def setUpClass(cls):
        require_sqs()
        if shutil.which("aws") is None:
            raise unittest.SkipTest("the aws CLI is not installed")

    def cli(self, *args):
        out = harness.aws("sqs", *args)
        self.assertEqual(out.returncode, 0, f"aws sqs {' '.join(args)}: {out.stderr}")
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def test_queue_and_message_commands(self):
        name = unique("cli")
        url = self.cli("create-queue", "--queue-name", name, "--attributes", "VisibilityTimeout=40")["QueueUrl"]
        self.assertIn(url, self.cli("list-queues", "--queue-name-prefix", name)["QueueUrls"])
        sent = self.cli("send-message", "--queue-url", url, "--message-body", "from the cli")
        self.assertEqual(sent["MD5OfMessageBody"], md5("from the cli"))
        got = self.cli("receive-message", "--queue-url", url, "--attribute-names", "All", "--wait-time-seconds", "1")
        self.assertEqual(got["Messages"][0]["Body"], "from the cli")
        self.assertEqual(got["Messages"][0]["MessageId"], sent["MessageId"])
        self.cli("delete-message", "--queue-url", url, "--receipt-handle", got["Messages"][0]["ReceiptHandle"])
        attrs = self.cli("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
        self.assertEqual(attrs["VisibilityTimeout"], "40")
        self.assertEqual(attrs["ApproximateNumberOfMessages"], "0")
        self.assertEqual(attrs["ApproximateNumberOfMessagesNotVisible"], "0")
        self.cli("delete-queue", "--queue-url", url)
        out = harness.aws("sqs", "get-queue-url", "--queue-name", name)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("NonExistentQueue", out.stderr)


if __name__ == "__main__":
    unittest.main()
