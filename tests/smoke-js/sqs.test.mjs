// SQS through an unchanged @aws-sdk/client-sqs (AWS JSON 1.0 protocol over
// HTTP/1.1: the SQS client's default request handler is NodeHttpHandler).

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

import { clientConfig, eventually, md5Hex, md5OfMessageAttributes, recordTransport, uniqueName } from "./harness.mjs";

const TEST_TIMEOUT_MS = 30_000;

describe("sqs", { timeout: 120_000 }, () => {
  let sqs;
  let transport;
  const created = [];

  before(() => {
    sqs = new SQSClient(clientConfig());
    transport = recordTransport(sqs);
  });

  after(async () => {
    for (const url of created) {
      await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
    }
    sqs.destroy();
  });

  async function createQueue(name, Attributes) {
    const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.ok(out.QueueUrl.endsWith(`/${name}`), `QueueUrl ${out.QueueUrl} should end with /${name}`);
    created.push(out.QueueUrl);
    return out.QueueUrl;
  }

  async function receiveAll(url, want, extra = {}) {
    const got = [];
    await eventually(
      async () => {
        const out = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, ...extra }),
        );
        got.push(...(out.Messages ?? []));
        return got.length >= want;
      },
      { what: `${want} messages on ${url}` },
    );
    return got;
  }

  test("the MD5 checksum middleware is on and would reject a wrong MD5", { timeout: TEST_TIMEOUT_MS }, async () => {
    // The default client validates MD5OfMessageBody (SendMessage,
    // SendMessageBatch) and MD5OfBody (ReceiveMessage) itself, through
    // @aws-sdk/middleware-sdk-sqs, unless `md5: false` is configured.
    assert.equal(typeof sqs.config.md5, "function", "client config md5 must be the default hash (checks on)");

    // Prove the check is live: a client whose MD5 hash is deliberately wrong
    // must reject the server's (correct) checksums.
    const url = await createQueue(uniqueName("js-md5"));
    class WrongHash {
      update() {}
      async digest() {
        return new Uint8Array(16);
      }
    }
    const broken = new SQSClient(clientConfig({ md5: WrongHash }));
    try {
      await assert.rejects(
        broken.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "checked" })),
        /InvalidChecksumError/,
      );
      await assert.rejects(
        broken.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2 })),
        /Invalid MD5 checksum on messages/,
      );
    } finally {
      broken.destroy();
    }
  });

  test("CreateQueue, GetQueueUrl, ListQueues", { timeout: TEST_TIMEOUT_MS }, async () => {
    const name = uniqueName("js-basic");
    const url = await createQueue(name);

    const got = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    assert.equal(got.QueueUrl, url);

    // CreateQueue with the same name and attributes is idempotent.
    const again = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    assert.equal(again.QueueUrl, url);

    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: name }));
    assert.deepEqual(listed.QueueUrls, [url]);

    const all = await sqs.send(new ListQueuesCommand({}));
    assert.ok(all.QueueUrls.includes(url), "ListQueues without a prefix includes the queue");
  });

  test("SendMessage and ReceiveMessage with String, Number and Binary attributes", { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = await createQueue(uniqueName("js-attrs"));
    const body = "héllo from the JS SDK ✓ \u{1F30A}";
    const binary = new Uint8Array([0, 1, 2, 250, 251, 252, 253, 254, 255]);
    const attributes = {
      Colour: { DataType: "String", StringValue: "blue ✓" },
      Count: { DataType: "Number", StringValue: "-12.50" },
      Blob: { DataType: "Binary", BinaryValue: binary },
      Trace: { DataType: "String.custom", StringValue: "custom type" },
    };

    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: attributes }));
    assert.ok(sent.MessageId);
    // The SDK itself has already compared MD5OfMessageBody; check both here too.
    assert.equal(sent.MD5OfMessageBody, md5Hex(Buffer.from(body, "utf8")));
    assert.equal(sent.MD5OfMessageAttributes, md5OfMessageAttributes(attributes));

    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 5,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    assert.equal(out.Messages?.length, 1);
    const [message] = out.Messages;
    assert.equal(message.MessageId, sent.MessageId);
    assert.equal(message.Body, body);
    assert.equal(message.MD5OfBody, md5Hex(Buffer.from(body, "utf8")));
    assert.equal(message.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
    assert.ok(message.ReceiptHandle);

    const got = message.MessageAttributes;
    assert.deepEqual(Object.keys(got).sort(), ["Blob", "Colour", "Count", "Trace"]);
    assert.equal(got.Colour.DataType, "String");
    assert.equal(got.Colour.StringValue, "blue ✓");
    assert.equal(got.Count.DataType, "Number");
    assert.equal(got.Count.StringValue, "-12.50");
    assert.equal(got.Trace.DataType, "String.custom");
    assert.equal(got.Trace.StringValue, "custom type");
    assert.equal(got.Blob.DataType, "Binary");
    assert.ok(got.Blob.BinaryValue instanceof Uint8Array, "BinaryValue is a Uint8Array");
    assert.deepEqual(Buffer.from(got.Blob.BinaryValue), Buffer.from(binary));
    // The received attributes hash to the same MD5 as the sent ones.
    assert.equal(message.MD5OfMessageAttributes, md5OfMessageAttributes(got));

    const system = message.Attributes;
    assert.equal(system.ApproximateReceiveCount, "1");
    assert.equal(system.SenderId !== undefined, true, "SenderId is returned");
    assert.match(system.SentTimestamp, /^\d{13}$/);
    assert.match(system.ApproximateFirstReceiveTimestamp, /^\d{13}$/);

    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    assert.equal(empty.Messages?.length ?? 0, 0, "the deleted message is gone");
  });

  test("SendMessageBatch and DeleteMessageBatch", { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = await createQueue(uniqueName("js-batch"));
    const entries = Array.from({ length: 5 }, (_, i) => ({ Id: `m${i}`, MessageBody: `batch body ${i}` }));
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    assert.equal(sent.Failed?.length ?? 0, 0);
    assert.equal(sent.Successful.length, 5);
    for (const ok of sent.Successful) {
      const entry = entries.find((e) => e.Id === ok.Id);
      assert.ok(entry, `unknown Id ${ok.Id}`);
      assert.equal(ok.MD5OfMessageBody, md5Hex(entry.MessageBody));
      assert.ok(ok.MessageId);
    }

    const messages = await receiveAll(url, 5);
    assert.deepEqual(messages.map((m) => m.Body).sort(), entries.map((e) => e.MessageBody).sort());

    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          ...messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
          { Id: "bogus", ReceiptHandle: "not-a-receipt-handle" },
        ],
      }),
    );
    assert.deepEqual(deleted.Successful.map((s) => s.Id).sort(), messages.map((_, i) => `d${i}`).sort());
    assert.equal(deleted.Failed.length, 1);
    assert.equal(deleted.Failed[0].Id, "bogus");
    assert.equal(deleted.Failed[0].SenderFault, true);
    assert.ok(deleted.Failed[0].Code);

    const attrs = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    assert.equal(attrs.Attributes.ApproximateNumberOfMessages, "0");
    assert.equal(attrs.Attributes.ApproximateNumberOfMessagesNotVisible, "0");
  });

  test("ChangeMessageVisibility makes a message visible again", { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = await createQueue(uniqueName("js-visibility"), { VisibilityTimeout: "60" });
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "come back" }));

    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
    assert.equal(first.Messages?.length, 1);
    // Invisible for 60 s: nothing to receive now.
    const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0 }));
    assert.equal(hidden.Messages?.length ?? 0, 0);

    const changed = await sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.Messages[0].ReceiptHandle, VisibilityTimeout: 0 }),
    );
    assert.equal(changed.$metadata.httpStatusCode, 200);

    const second = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }),
    );
    assert.equal(second.Messages?.length, 1);
    assert.equal(second.Messages[0].Body, "come back");
    assert.equal(second.Messages[0].MessageId, first.Messages[0].MessageId);
    assert.equal(second.Messages[0].Attributes.ApproximateReceiveCount, "2");
  });

  test("FIFO queue: ordered within a group, deduplicated resend", { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = await createQueue(uniqueName("js-order") + ".fifo", { FifoQueue: "true" });
    const sent = [];
    for (let i = 0; i < 6; i++) {
      const out = await sqs.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: `step ${i}`,
          MessageGroupId: "g1",
          MessageDeduplicationId: `dedup-${i}`,
        }),
      );
      assert.ok(out.SequenceNumber, "FIFO SendMessage returns a SequenceNumber");
      sent.push(out);
    }
    // Same deduplication id within the 5-minute window: accepted, not enqueued,
    // and answered with the original message's id.
    const resend = await sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: "step 0", MessageGroupId: "g1", MessageDeduplicationId: "dedup-0" }),
    );
    assert.equal(resend.MessageId, sent[0].MessageId);

    const bodies = [];
    await eventually(
      async () => {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["All"],
          }),
        );
        for (const m of out.Messages ?? []) {
          assert.equal(m.Attributes.MessageGroupId, "g1");
          bodies.push(m.Body);
          await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
        }
        return bodies.length >= 6;
      },
      { what: "six FIFO messages" },
    );
    assert.deepEqual(bodies, ["step 0", "step 1", "step 2", "step 3", "step 4", "step 5"]);

    // The deduplicated resend did not add a seventh message.
    const rest = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    assert.equal(rest.Messages?.length ?? 0, 0);
  });

  test("GetQueueAttributes counts messages", { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = await createQueue(uniqueName("js-count"), { DelaySeconds: "0", MessageRetentionPeriod: "3600" });
    for (let i = 0; i < 3; i++) {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: `count ${i}` }));
    }
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
    assert.equal(attrs.Attributes.ApproximateNumberOfMessages, "3");
    assert.equal(attrs.Attributes.MessageRetentionPeriod, "3600");
    assert.match(attrs.Attributes.QueueArn, /^arn:aws:sqs:us-east-1:\d{12}:js-count-/);
  });

  test("GetQueueUrl of a missing queue throws QueueDoesNotExist", { timeout: TEST_TIMEOUT_MS }, async () => {
    const err = await sqs.send(new GetQueueUrlCommand({ QueueName: uniqueName("js-missing") })).then(
      () => assert.fail("GetQueueUrl of a missing queue succeeded"),
      (e) => e,
    );
    assert.equal(err.name, "QueueDoesNotExist");
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.equal(err.$fault, "client");
    assert.ok(err.message, "the error has a message");
  });

  test("DeleteQueue", { timeout: TEST_TIMEOUT_MS }, async () => {
    const name = uniqueName("js-delete");
    const url = await createQueue(name);
    const out = await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    await eventually(
      async () => {
        const err = await sqs.send(new GetQueueUrlCommand({ QueueName: name })).then(() => null, (e) => e);
        return err?.name === "QueueDoesNotExist";
      },
      { what: "the deleted queue to disappear" },
    );
  });

  test("SQS went over HTTP/1.1", { timeout: TEST_TIMEOUT_MS }, async () => {
    await sqs.send(new ListQueuesCommand({}));
    assert.ok(transport.length > 0);
    for (const t of transport) {
      assert.equal(t.kind, "IncomingMessage", `${t.command} response came from node:http`);
      assert.equal(t.protocol, "http/1.1", `${t.command} protocol`);
    }
  });
});
