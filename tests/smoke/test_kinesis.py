"""Kinesis smoke tests: boto3 and the AWS CLI (both botocore, AWS JSON 1.1)
against the real binary: stream lifecycle with waiters, puts and reads
byte for byte, shard listing, resharding lineage, tags, and error codes."""

import base64
import json
import os
import unittest
import uuid

import botocore.exceptions

import harness


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def read_shard(kinesis, stream, shard_id):
    """Every record of a shard from TRIM_HORIZON, following
    NextShardIterator until a read returns nothing (open shard) or the
    iterator ends (closed shard). Returns (records, last response)."""
    it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard_id,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while True:
        out = kinesis.get_records(ShardIterator=it, Limit=1000)
        records.extend(out["Records"])
        it = out.get("NextShardIterator")
        if it is None or not out["Records"]:
            return records, out


@unittest.skipUnless(harness.serves("kinesis"), "the server does not serve Kinesis")
class KinesisBoto3Test(unittest.TestCase):
    def setUp(self):
        self.kinesis = harness.client("kinesis")
        self.stream = unique("smoke")
        self.kinesis.create_stream(StreamName=self.stream, ShardCount=2)
        self.kinesis.get_waiter("stream_exists").wait(
            StreamName=self.stream, WaiterConfig={"Delay": 1, "MaxAttempts": 10})

    def tearDown(self):
        try:
            self.kinesis.delete_stream(StreamName=self.stream, EnforceConsumerDeletion=True)
        except self.kinesis.exceptions.ResourceNotFoundException:
            pass

    def test_put_and_get_records(self):
        # Data is arbitrary bytes: it must come back byte-identical, in put
        # order within each shard, at the sequence numbers the puts returned.
        payloads = [os.urandom(n) for n in (0, 1, 100, 5000)] + [b"\x00\xff" * 10, "héllo".encode()]
        sent = {}  # sequence number -> (shard, data, key)
        one = self.kinesis.put_record(StreamName=self.stream, Data=payloads[0], PartitionKey="k0")
        sent[one["SequenceNumber"]] = (one["ShardId"], payloads[0], "k0")
        entries = [{"Data": d, "PartitionKey": f"k{i}"} for i, d in enumerate(payloads[1:], 1)]
        entries.append({"Data": b"explicit", "PartitionKey": "x", "ExplicitHashKey": str(2**127)})
        batch = self.kinesis.put_records(StreamName=self.stream, Records=entries)
        self.assertEqual(batch["FailedRecordCount"], 0)
        self.assertEqual(len(batch["Records"]), len(entries))
        for entry, result in zip(entries, batch["Records"]):
            sent[result["SequenceNumber"]] = (result["ShardId"], entry["Data"], entry["PartitionKey"])
        # An explicit hash key of 2^127 is the first key of the second shard.
        self.assertEqual(batch["Records"][-1]["ShardId"], "shardId-000000000001")

        shards = self.kinesis.list_shards(StreamName=self.stream)["Shards"]
        self.assertEqual([s["ShardId"] for s in shards], ["shardId-000000000000", "shardId-000000000001"])
        got = {}
        for shard in shards:
            records, _ = read_shard(self.kinesis, self.stream, shard["ShardId"])
            seqs = [int(r["SequenceNumber"]) for r in records]
            self.assertEqual(seqs, sorted(seqs), "records out of order")
            for r in records:
                got[r["SequenceNumber"]] = (shard["ShardId"], r["Data"], r["PartitionKey"])
        self.assertEqual(got, sent)

        summary = self.kinesis.describe_stream_summary(StreamName=self.stream)["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamStatus"], "ACTIVE")
        self.assertEqual(summary["OpenShardCount"], 2)
        self.assertEqual(summary["RetentionPeriodHours"], 24)
        self.assertTrue(summary["StreamARN"].endswith(":stream/" + self.stream))

    def test_get_records_from_latest_and_sequence(self):
        first = self.kinesis.put_record(StreamName=self.stream, Data=b"a", PartitionKey="same")
        second = self.kinesis.put_record(StreamName=self.stream, Data=b"b", PartitionKey="same")
        self.assertEqual(first["ShardId"], second["ShardId"])
        self.assertLess(int(first["SequenceNumber"]), int(second["SequenceNumber"]))
        shard = first["ShardId"]
        it = self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=shard,
                                             ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                             StartingSequenceNumber=first["SequenceNumber"])["ShardIterator"]
        self.assertEqual([r["Data"] for r in self.kinesis.get_records(ShardIterator=it)["Records"]], [b"b"])
        latest = self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=shard,
                                                 ShardIteratorType="LATEST")["ShardIterator"]
        out = self.kinesis.get_records(ShardIterator=latest)
        self.assertEqual(out["Records"], [])
        self.kinesis.put_record(StreamName=self.stream, Data=b"c", PartitionKey="same")
        out = self.kinesis.get_records(ShardIterator=out["NextShardIterator"])
        self.assertEqual([r["Data"] for r in out["Records"]], [b"c"])
        self.assertEqual(out["MillisBehindLatest"], 0)

    def test_split_shard(self):
        self.kinesis.put_record(StreamName=self.stream, Data=b"before", PartitionKey="p",
                                ExplicitHashKey="1")
        self.kinesis.split_shard(StreamName=self.stream, ShardToSplit="shardId-000000000000",
                                 NewStartingHashKey=str(2**126))
        shards = {s["ShardId"]: s for s in self.kinesis.list_shards(StreamName=self.stream)["Shards"]}
        self.assertEqual(sorted(shards), ["shardId-000000000000", "shardId-000000000001",
                                          "shardId-000000000002", "shardId-000000000003"])
        parent = shards["shardId-000000000000"]
        self.assertIn("EndingSequenceNumber", parent["SequenceNumberRange"])
        for child in ("shardId-000000000002", "shardId-000000000003"):
            self.assertEqual(shards[child]["ParentShardId"], "shardId-000000000000")
        self.assertEqual(shards["shardId-000000000003"]["HashKeyRange"]["StartingHashKey"], str(2**126))
        # The closed parent reads to its end, then names its children.
        records, last = read_shard(self.kinesis, self.stream, "shardId-000000000000")
        self.assertEqual([r["Data"] for r in records], [b"before"])
        self.assertNotIn("NextShardIterator", last)
        self.assertEqual(sorted(c["ShardId"] for c in last["ChildShards"]),
                         ["shardId-000000000002", "shardId-000000000003"])
        # New records for that hash key go to a child.
        out = self.kinesis.put_record(StreamName=self.stream, Data=b"after", PartitionKey="p",
                                      ExplicitHashKey="1")
        self.assertEqual(out["ShardId"], "shardId-000000000002")
        summary = self.kinesis.describe_stream_summary(StreamName=self.stream)["StreamDescriptionSummary"]
        self.assertEqual(summary["OpenShardCount"], 3)
        open_only = self.kinesis.list_shards(StreamName=self.stream,
                                             ShardFilter={"Type": "AT_LATEST"})["Shards"]
        self.assertEqual(len(open_only), 3)

    def test_tags(self):
        self.kinesis.add_tags_to_stream(StreamName=self.stream, Tags={"team": "core", "env": "smoke"})
        tags = self.kinesis.list_tags_for_stream(StreamName=self.stream)
        self.assertEqual({t["Key"]: t["Value"] for t in tags["Tags"]}, {"team": "core", "env": "smoke"})
        self.assertFalse(tags["HasMoreTags"])
        self.kinesis.remove_tags_from_stream(StreamName=self.stream, TagKeys=["env"])
        tags = self.kinesis.list_tags_for_stream(StreamName=self.stream)["Tags"]
        self.assertEqual(tags, [{"Key": "team", "Value": "core"}])

    def test_delete_stream(self):
        self.kinesis.delete_stream(StreamName=self.stream)
        self.kinesis.get_waiter("stream_not_exists").wait(
            StreamName=self.stream, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        self.assertNotIn(self.stream, self.kinesis.list_streams()["StreamNames"])
        with self.assertRaises(self.kinesis.exceptions.ResourceNotFoundException):
            self.kinesis.describe_stream_summary(StreamName=self.stream)

    def test_errors(self):
        with self.assertRaises(self.kinesis.exceptions.ResourceInUseException):
            self.kinesis.create_stream(StreamName=self.stream, ShardCount=1)
        with self.assertRaises(self.kinesis.exceptions.ResourceNotFoundException):
            self.kinesis.put_record(StreamName=unique("missing"), Data=b"x", PartitionKey="k")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.kinesis.get_records(ShardIterator="bm90IGFuIGl0ZXJhdG9y")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidArgumentException")
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)


@unittest.skipUnless(harness.serves("kinesis"), "the server does not serve Kinesis")
class KinesisCLITest(unittest.TestCase):
    def cli(self, *args):
        out = harness.aws("kinesis", *args)
        self.assertEqual(out.returncode, 0, f"aws kinesis {' '.join(args)}: {out.stderr}")
        return json.loads(out.stdout) if out.stdout.strip() else {}

    def test_cli_round_trip(self):
        stream = unique("smoke-cli")
        self.cli("create-stream", "--stream-name", stream, "--shard-count", "1")
        self.cli("wait", "stream-exists", "--stream-name", stream)
        self.assertIn(stream, self.cli("list-streams")["StreamNames"])
        # AWS CLI v1 sends the --data string as the raw blob (base64 on the
        # wire); get-records prints the blob base64-encoded.
        put = self.cli("put-record", "--stream-name", stream, "--partition-key", "pk", "--data", "hello cli")
        self.assertEqual(put["ShardId"], "shardId-000000000000")
        it = self.cli("get-shard-iterator", "--stream-name", stream, "--shard-id", put["ShardId"],
                      "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
        records = self.cli("get-records", "--shard-iterator", it)["Records"]
        self.assertEqual(len(records), 1)
        self.assertEqual(base64.b64decode(records[0]["Data"]), b"hello cli")
        self.assertEqual(records[0]["SequenceNumber"], put["SequenceNumber"])
        self.assertEqual(records[0]["PartitionKey"], "pk")
        self.cli("delete-stream", "--stream-name", stream)
        self.assertNotIn(stream, self.cli("list-streams")["StreamNames"])

    def test_cli_error(self):
        out = harness.aws("kinesis", "describe-stream", "--stream-name", unique("missing"))
        self.assertNotEqual(out.returncode, 0, out.stdout)
        self.assertIn("ResourceNotFoundException", out.stderr)


if __name__ == "__main__":
    unittest.main()
