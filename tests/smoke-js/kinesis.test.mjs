// Kinesis Data Streams through an unchanged @aws-sdk/client-kinesis.
//
// HTTP/2: the Kinesis client is built with the SDK's defaults, so its
// request handler is the one node_modules/@aws-sdk/client-kinesis/dist-cjs/
// runtimeConfig.js sets: `NodeHttp2Handler.create(... disableConcurrentStreams:
// true ...)` from @smithy/node-http-handler. Every Kinesis call, not only
// SubscribeToShard, therefore goes through node:http2's http2.connect(); with
// an http:// endpoint that is cleartext HTTP/2 with prior knowledge (h2c), which
// Sluice recognises by the connection preface. The last test checks this from
// the responses themselves (see harness.recordTransport): each one must be a
// node:http2 ClientHttp2Stream on a session whose alpnProtocol is "h2c".

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import {
  CreateStreamCommand,
  DeleteStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  RegisterStreamConsumerCommand,
  SubscribeToShardCommand,
  waitUntilStreamExists,
  waitUntilStreamNotExists,
} from "@aws-sdk/client-kinesis";

import { clientConfig, eventually, recordTransport, uniqueName } from "./harness.mjs";

const TEST_TIMEOUT_MS = 30_000;
const SUBSCRIBE_TIMEOUT_MS = 15_000;
// Hash keys that land on the first and the second of two evenly split shards.
const HASH_KEY_SHARD_0 = "0";
const HASH_KEY_SHARD_1 = (2n ** 127n + 1n).toString();

function bytes(...parts) {
  return new Uint8Array(Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p)))));
}

function hex(data) {
  return Buffer.from(data).toString("hex");
}

describe("kinesis", { timeout: 180_000 }, () => {
  let kinesis;
  let transport;
  const streamName = uniqueName("js-stream");
  let streamArn;
  let consumerArn;
  let shardIds;
  // Every record put, in order, as {key, data, shardId, sequenceNumber}.
  const put = [];

  before(() => {
    kinesis = new KinesisClient(clientConfig());
    transport = recordTransport(kinesis);
  });

  after(async () => {
    // Best effort if a test failed half way; the server's data dir is
    // temporary anyway.
    if (consumerArn) {
      await kinesis.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn })).catch(() => {});
    }
    await kinesis.send(new DeleteStreamCommand({ StreamName: streamName, EnforceConsumerDeletion: true })).catch(() => {});
    kinesis.destroy();
  });

  test("CreateStream with two shards, then waitUntilStreamExists", { timeout: TEST_TIMEOUT_MS }, async () => {
    const created = await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 2 }));
    assert.equal(created.$metadata.httpStatusCode, 200);

    const waited = await waitUntilStreamExists(
      { client: kinesis, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
      { StreamName: streamName },
    );
    assert.equal(waited.state, "SUCCESS");

    const summary = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    const d = summary.StreamDescriptionSummary;
    assert.equal(d.StreamName, streamName);
    assert.equal(d.StreamStatus, "ACTIVE");
    assert.equal(d.OpenShardCount, 2);
    assert.match(d.StreamARN, new RegExp(`^arn:aws:kinesis:us-east-1:\\d{12}:stream/${streamName}$`));
    streamArn = d.StreamARN;
  });

  test("PutRecord and PutRecords", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(streamArn, "needs the stream");
    const one = bytes([0, 255, 1, 254], "single record ✓");
    const single = await kinesis.send(
      new PutRecordCommand({ StreamName: streamName, PartitionKey: "pk-single", Data: one, ExplicitHashKey: HASH_KEY_SHARD_0 }),
    );
    assert.equal(single.ShardId, "shardId-000000000000");
    assert.match(single.SequenceNumber, /^\d+$/);
    put.push({ key: "pk-single", data: one, shardId: single.ShardId, sequenceNumber: single.SequenceNumber });

    const entries = Array.from({ length: 10 }, (_, i) => ({
      PartitionKey: `pk-${i}`,
      // All 256 byte values plus random bytes: Data must round-trip exactly.
      Data: bytes(Uint8Array.from({ length: 256 }, (_, b) => b), randomBytes(17 + i)),
      ExplicitHashKey: i % 2 === 0 ? HASH_KEY_SHARD_0 : HASH_KEY_SHARD_1,
    }));
    const many = await kinesis.send(new PutRecordsCommand({ StreamName: streamName, Records: entries }));
    assert.equal(many.FailedRecordCount ?? 0, 0);
    assert.equal(many.Records.length, entries.length);
    many.Records.forEach((r, i) => {
      assert.equal(r.ErrorCode, undefined, `record ${i}: ${r.ErrorCode} ${r.ErrorMessage}`);
      assert.equal(r.ShardId, i % 2 === 0 ? "shardId-000000000000" : "shardId-000000000001");
      assert.match(r.SequenceNumber, /^\d+$/);
      put.push({ key: entries[i].PartitionKey, data: entries[i].Data, shardId: r.ShardId, sequenceNumber: r.SequenceNumber });
    });
  });

  test("ListShards", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(streamArn, "needs the stream");
    const out = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
    shardIds = out.Shards.map((s) => s.ShardId);
    assert.deepEqual(shardIds, ["shardId-000000000000", "shardId-000000000001"]);
    const [a, b] = out.Shards;
    assert.equal(a.HashKeyRange.StartingHashKey, "0");
    assert.equal(BigInt(a.HashKeyRange.EndingHashKey) + 1n, BigInt(b.HashKeyRange.StartingHashKey));
    assert.equal(b.HashKeyRange.EndingHashKey, (2n ** 128n - 1n).toString());
    assert.ok(a.SequenceNumberRange.StartingSequenceNumber);
  });

  test("GetShardIterator TRIM_HORIZON and GetRecords return the records byte-identical", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(shardIds && put.length === 11, "needs the shards and the records");
    for (const shardId of shardIds) {
      const want = put.filter((p) => p.shardId === shardId);
      assert.ok(want.length > 0);
      const it = await kinesis.send(
        new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }),
      );
      let iterator = it.ShardIterator;
      assert.ok(iterator);
      const got = [];
      await eventually(
        async () => {
          const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
          got.push(...out.Records);
          iterator = out.NextShardIterator;
          assert.ok(iterator, "an open shard always has a NextShardIterator");
          assert.equal(typeof out.MillisBehindLatest, "number");
          return got.length >= want.length;
        },
        { what: `${want.length} records on ${shardId}` },
      );
      assert.equal(got.length, want.length);
      got.forEach((r, i) => {
        assert.ok(r.Data instanceof Uint8Array, "Data is a Uint8Array");
        assert.equal(hex(r.Data), hex(want[i].data), `record ${i} on ${shardId} byte-identical`);
        assert.equal(r.PartitionKey, want[i].key);
        assert.equal(r.SequenceNumber, want[i].sequenceNumber);
        assert.ok(r.ApproximateArrivalTimestamp instanceof Date);
      });
    }
  });

  test("RegisterStreamConsumer, ACTIVE via DescribeStreamConsumer", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(streamArn, "needs the stream");
    const out = await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: "js-consumer" }));
    assert.equal(out.Consumer.ConsumerName, "js-consumer");
    assert.ok(out.Consumer.ConsumerARN.startsWith(`${streamArn}/consumer/js-consumer:`), out.Consumer.ConsumerARN);
    assert.ok(["CREATING", "ACTIVE"].includes(out.Consumer.ConsumerStatus), out.Consumer.ConsumerStatus);
    consumerArn = out.Consumer.ConsumerARN;

    const active = await eventually(
      async () => {
        const d = await kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn }));
        return d.ConsumerDescription.ConsumerStatus === "ACTIVE" && d.ConsumerDescription;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: "the consumer to become ACTIVE" },
    );
    assert.equal(active.StreamARN, streamArn);
    assert.equal(active.ConsumerARN, consumerArn);
  });

  // Subscribes with startingPosition, runs afterSubscribed once the SDK has
  // the response (initial-response received), and consumes the event stream
  // until `want` records arrived. Returns {records, events}. Bounded by
  // SUBSCRIBE_TIMEOUT_MS; the subscription is aborted at the end either way.
  async function subscribeUntil(shardId, startingPosition, want, afterSubscribed = async () => {}) {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`SubscribeToShard ${shardId}: no ${want} records within ${SUBSCRIBE_TIMEOUT_MS} ms`)),
      SUBSCRIBE_TIMEOUT_MS,
    );
    const records = [];
    const events = [];
    try {
      const out = await kinesis.send(
        new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: startingPosition }),
        { abortSignal: controller.signal },
      );
      assert.equal(out.$metadata.httpStatusCode, 200);
      assert.ok(out.EventStream, "the output has an EventStream");
      await afterSubscribed();
      for await (const event of out.EventStream) {
        assert.ok(event.SubscribeToShardEvent, `unexpected event ${JSON.stringify(Object.keys(event))}`);
        events.push(event.SubscribeToShardEvent);
        records.push(...event.SubscribeToShardEvent.Records);
        if (records.length >= want) break;
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    if (controller.signal.reason instanceof Error && records.length < want) throw controller.signal.reason;
    return { records, events };
  }

  test("SubscribeToShard LATEST over HTTP/2 receives records put after subscribing", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(consumerArn, "needs the consumer");
    const fresh = Array.from({ length: 3 }, (_, i) => ({ key: `live-${i}`, data: bytes(randomBytes(8), `live record ${i}`) }));
    const { records, events } = await subscribeUntil(
      "shardId-000000000000",
      { Type: "LATEST" },
      fresh.length,
      async () => {
        for (const r of fresh) {
          const out = await kinesis.send(
            new PutRecordCommand({ StreamName: streamName, PartitionKey: r.key, Data: r.data, ExplicitHashKey: HASH_KEY_SHARD_0 }),
          );
          assert.equal(out.ShardId, "shardId-000000000000");
          r.sequenceNumber = out.SequenceNumber;
        }
      },
    );
    // LATEST: none of the records put before subscribing, exactly the new ones.
    assert.equal(records.length, fresh.length);
    records.forEach((r, i) => {
      assert.ok(r.Data instanceof Uint8Array);
      assert.equal(hex(r.Data), hex(fresh[i].data));
      assert.equal(r.PartitionKey, fresh[i].key);
      assert.equal(r.SequenceNumber, fresh[i].sequenceNumber);
    });
    assert.ok(events.length > 0);
    for (const e of events) {
      assert.match(e.ContinuationSequenceNumber ?? "", /^\d+$/, "every event has a ContinuationSequenceNumber");
      assert.equal(typeof e.MillisBehindLatest, "number");
    }
    const last = events[events.length - 1];
    assert.ok(BigInt(last.ContinuationSequenceNumber) >= BigInt(fresh[fresh.length - 1].sequenceNumber));
  });

  test("SubscribeToShard TRIM_HORIZON replays the shard", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(consumerArn && put.length === 11, "needs the consumer and the records");
    const want = put.filter((p) => p.shardId === "shardId-000000000001");
    const { records, events } = await subscribeUntil("shardId-000000000001", { Type: "TRIM_HORIZON" }, want.length);
    assert.equal(records.length, want.length);
    records.forEach((r, i) => {
      assert.equal(hex(r.Data), hex(want[i].data));
      assert.equal(r.SequenceNumber, want[i].sequenceNumber);
    });
    assert.match(events[events.length - 1].ContinuationSequenceNumber ?? "", /^\d+$/);
  });

  test("DescribeStreamSummary of a missing stream throws ResourceNotFoundException", { timeout: TEST_TIMEOUT_MS }, async () => {
    const err = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: uniqueName("js-missing") })).then(
      () => assert.fail("DescribeStreamSummary of a missing stream succeeded"),
      (e) => e,
    );
    assert.equal(err.name, "ResourceNotFoundException");
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.$fault, "client");
  });

  test("DeregisterStreamConsumer and DeleteStream", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(consumerArn, "needs the consumer");
    const dereg = await kinesis.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn }));
    assert.equal(dereg.$metadata.httpStatusCode, 200);
    await eventually(
      async () => {
        const res = await kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn })).then(
          (d) => d.ConsumerDescription.ConsumerStatus,
          (e) => e.name,
        );
        return res === "ResourceNotFoundException";
      },
      { timeoutMs: 20_000, intervalMs: 250, what: "the consumer to be deregistered" },
    );
    consumerArn = undefined;

    const del = await kinesis.send(new DeleteStreamCommand({ StreamName: streamName }));
    assert.equal(del.$metadata.httpStatusCode, 200);
    const waited = await waitUntilStreamNotExists(
      { client: kinesis, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
      { StreamName: streamName },
    );
    assert.equal(waited.state, "SUCCESS");
  });

  test("every Kinesis call, SubscribeToShard included, went over h2c", { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal(kinesis.config.requestHandler.constructor.name, "NodeHttp2Handler");
    const subscribes = transport.filter((t) => t.command === "SubscribeToShardCommand");
    assert.equal(subscribes.length, 2, "both subscriptions were recorded");
    assert.ok(transport.length > 10);
    for (const t of transport) {
      assert.equal(t.kind, "ClientHttp2Stream", `${t.command} response came from node:http2`);
      assert.equal(t.protocol, "h2c", `${t.command} protocol`);
    }
  });
});
