// SQS over the *query* protocol (form-encoded Action=...&Version=2012-11-05
// requests, XML responses) through an unchanged @aws-sdk/client-sqs 3.445.0,
// the last release before the SQS client switched to AWS JSON 1.0 (3.447.0).
// package.json installs it under the alias "client-sqs-query"; it brings its
// own copy of the older smithy v2 stack (and @aws-sdk/client-sts, which its
// runtimeConfig requires), so it runs exactly as in an application that has
// that version locked.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  TagQueueCommand,
} from "client-sqs-query";

import { clientConfig, eventually, md5Hex, md5OfMessageAttributes, uniqueName } from "./harness.mjs";

const TEST_TIMEOUT_MS = 30_000;
const FORM = "application/x-www-form-urlencoded";

/**
 * Records, for every command, the serialized request (content-type, body)
 * and the raw response's status and content-type. It sits at the innermost
 * end of the deserialize step, right above the request handler, so it sees
 * the signed request and the raw response (error responses too, before the
 * deserializer throws); it changes nothing.
 */
function recordWire(client) {
  const seen = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request;
      const entry = {
        command: context.commandName,
        contentType: request?.headers?.["content-type"],
        body: typeof request?.body === "string" ? request.body : undefined,
      };
      seen.push(entry);
      const result = await next(args);
      entry.status = result.response?.statusCode;
      entry.responseType = result.response?.headers?.["content-type"];
      return result;
    },
    { step: "deserialize", priority: "low", name: "sluiceSmokeRecordWire" },
  );
  return seen;
}

describe("sqs over the query protocol (client-sqs 3.445.0)", { timeout: 120_000 }, () => {
  let sqs;
  let wire;
  const created = [];

  before(() => {
    sqs = new SQSClient(clientConfig());
    wire = recordWire(sqs);
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

  test("this SDK version speaks the query protocol", { timeout: TEST_TIMEOUT_MS }, async () => {
    // The client has the MD5 checks of middleware-sdk-sqs on (default md5).
    assert.equal(typeof sqs.config.md5, "function");
    const start = wire.length;
    await sqs.send(new ListQueuesCommand({}));
    const [req] = wire.slice(start);
    assert.equal(req.command, "ListQueuesCommand");
    assert.equal(req.contentType, FORM);
    assert.match(req.body, /(^|&)Action=ListQueues(&|$)/);
    assert.match(req.body, /(^|&)Version=2012-11-05(&|$)/);
    assert.equal(req.status, 200);
    assert.match(req.responseType ?? "", /^text\/xml/);
  });

  test("CreateQueue with attributes, GetQueueUrl, GetQueueAttributes All, ListQueues with prefix", { timeout: TEST_TIMEOUT_MS }, async () => {
    const name = uniqueName("jsq-basic");
    const url = await createQueue(name, {
      VisibilityTimeout: "45",
      DelaySeconds: "0",
      MessageRetentionPeriod: "3600",
      MaximumMessageSize: "65536",
      ReceiveMessageWaitTimeSeconds: "2",
    });

    const got = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    assert.equal(got.QueueUrl, url);

    // Same name and attributes: idempotent.
    const again = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "45" } }));
    assert.equal(again.QueueUrl, url);

    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
    const a = attrs.Attributes;
    assert.equal(a.VisibilityTimeout, "45");
    assert.equal(a.DelaySeconds, "0");
    assert.equal(a.MessageRetentionPeriod, "3600");
    assert.equal(a.MaximumMessageSize, "65536");
    assert.equal(a.ReceiveMessageWaitTimeSeconds, "2");
    assert.equal(a.ApproximateNumberOfMessages, "0");
    assert.equal(a.ApproximateNumberOfMessagesNotVisible, "0");
    assert.equal(a.ApproximateNumberOfMessagesDelayed, "0");
    assert.match(a.QueueArn, new RegExp(`^arn:aws:sqs:us-east-1:\\d{12}:${name}$`));
    assert.match(a.CreatedTimestamp, /^\d{10}$/);
    assert.match(a.LastModifiedTimestamp, /^\d{10}$/);

    // A second queue sharing the prefix, and one that does not.
    const sibling = await createQueue(`${name}-two`);
    const other = await createQueue(uniqueName("jsq-other"));
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: name }));
    assert.deepEqual([...listed.QueueUrls].sort(), [url, sibling].sort());
    const all = await sqs.send(new ListQueuesCommand({}));
    assert.ok(all.QueueUrls.includes(other), "ListQueues without a prefix includes every queue");
    const none = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: uniqueName("jsq-nothing") }));
    assert.equal(none.QueueUrls?.length ?? 0, 0);
  });

  test("SendMessage and ReceiveMessage: escaped bodies and String/Number/Binary attributes round-trip", { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = await createQueue(uniqueName("jsq-attrs"));
    const binary = new Uint8Array([0, 1, 2, 0x3c, 0x26, 0x3e, 250, 251, 252, 253, 254, 255]);
    const attributes = {
      Colour: { DataType: "String", StringValue: `<blue & "green"> 'ü' ✓\r\nline 2\r` },
      Count: { DataType: "Number", StringValue: "-12.50" },
      Blob: { DataType: "Binary", BinaryValue: binary },
      Trace: { DataType: "String.custom", StringValue: "a+b=c&d=e%20f" },
    };
    const bodies = [
      // XML specials, form specials and non-ASCII (BMP and astral).
      `<tag attr="v">&amp; & < > " ' </tag> a+b=c&d=%20 é ✓ \u{1F30A} 中文`,
      // CR LF, lone CR, lone LF and a tab: must come back byte-identical
      // (the XML response has to escape \r, which XML parsers fold).
      "line one\r\nline two\rline three\n\tindented \r\n",
    ];

    const sent = [];
    for (const body of bodies) {
      const out = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: attributes }));
      assert.ok(out.MessageId);
      // The SDK has already compared MD5OfMessageBody; check both here too.
      assert.equal(out.MD5OfMessageBody, md5Hex(Buffer.from(body, "utf8")));
      assert.equal(out.MD5OfMessageAttributes, md5OfMessageAttributes(attributes));
      sent.push({ body, id: out.MessageId });
    }

    const messages = await receiveAll(url, bodies.length, {
      AttributeNames: ["All"],
      MessageAttributeNames: ["All"],
    });
    assert.equal(messages.length, bodies.length);
    for (const message of messages) {
      const want = sent.find((s) => s.id === message.MessageId);
      assert.ok(want, `unexpected MessageId ${message.MessageId}`);
      assert.deepEqual(Buffer.from(message.Body, "utf8"), Buffer.from(want.body, "utf8"), "body is byte-identical");
      assert.equal(message.MD5OfBody, md5Hex(Buffer.from(want.body, "utf8")));
      assert.equal(message.MD5OfMessageAttributes, md5OfMessageAttributes(attributes));
      assert.ok(message.ReceiptHandle);

      const got = message.MessageAttributes;
      assert.deepEqual(Object.keys(got).sort(), ["Blob", "Colour", "Count", "Trace"]);
      assert.equal(got.Colour.DataType, "String");
      assert.equal(got.Colour.StringValue, attributes.Colour.StringValue);
      assert.equal(got.Count.DataType, "Number");
      assert.equal(got.Count.StringValue, "-12.50");
      assert.equal(got.Trace.DataType, "String.custom");
      assert.equal(got.Trace.StringValue, attributes.Trace.StringValue);
      assert.equal(got.Blob.DataType, "Binary");
      assert.ok(got.Blob.BinaryValue instanceof Uint8Array, "BinaryValue is a Uint8Array");
      assert.deepEqual(Buffer.from(got.Blob.BinaryValue), Buffer.from(binary));
      assert.equal(message.MD5OfMessageAttributes, md5OfMessageAttributes(got));

      const system = message.Attributes;
      assert.equal(system.ApproximateReceiveCount, "1");
      assert.ok(system.SenderId, "SenderId is returned");
      assert.match(system.SentTimestamp, /^\d{13}$/);
      assert.match(system.ApproximateFirstReceiveTimestamp, /^\d{13}$/);
    }
  });

  test("SendMessageBatch with an invalid entry, DeleteMessageBatch, ChangeMessageVisibilityBatch", { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = await createQueue(uniqueName("jsq-batch"), { VisibilityTimeout: "60" });
    const entries = [
      { Id: "m0", MessageBody: "batch <0> & 'zero'" },
      { Id: "m1", MessageBody: "batch 1 é\r\n" },
      { Id: "bad", MessageBody: "not allowed: \u0000" },
      { Id: "m3", MessageBody: "batch 3", MessageAttributes: { N: { DataType: "Number", StringValue: "3" } } },
      { Id: "m4", MessageBody: "batch 4" },
    ];
    const good = entries.filter((e) => e.Id !== "bad");
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
    assert.equal(sent.Failed?.length, 1, `Failed: ${JSON.stringify(sent.Failed)}`);
    assert.equal(sent.Failed[0].Id, "bad");
    assert.equal(sent.Failed[0].SenderFault, true);
    assert.equal(sent.Failed[0].Code, "InvalidMessageContents");
    assert.ok(sent.Failed[0].Message, "the failed entry has a message");
    assert.deepEqual(sent.Successful.map((s) => s.Id).sort(), good.map((e) => e.Id).sort());
    for (const ok of sent.Successful) {
      const entry = entries.find((e) => e.Id === ok.Id);
      assert.equal(ok.MD5OfMessageBody, md5Hex(Buffer.from(entry.MessageBody, "utf8")));
      if (entry.MessageAttributes) {
        assert.equal(ok.MD5OfMessageAttributes, md5OfMessageAttributes(entry.MessageAttributes));
      }
      assert.ok(ok.MessageId);
    }

    const messages = await receiveAll(url, good.length, { MessageAttributeNames: ["All"] });
    assert.deepEqual(messages.map((m) => m.Body).sort(), good.map((e) => e.MessageBody).sort());

    // ChangeMessageVisibilityBatch: two back to visible now, plus an invalid handle.
    const [back0, back1, ...rest] = messages;
    const changed = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: "c0", ReceiptHandle: back0.ReceiptHandle, VisibilityTimeout: 0 },
          { Id: "c1", ReceiptHandle: back1.ReceiptHandle, VisibilityTimeout: 0 },
          { Id: "cbogus", ReceiptHandle: "not-a-receipt-handle", VisibilityTimeout: 0 },
        ],
      }),
    );
    assert.deepEqual(changed.Successful.map((s) => s.Id).sort(), ["c0", "c1"]);
    assert.equal(changed.Failed.length, 1);
    assert.equal(changed.Failed[0].Id, "cbogus");
    assert.equal(changed.Failed[0].SenderFault, true);
    assert.equal(changed.Failed[0].Code, "ReceiptHandleIsInvalid");

    const again = await receiveAll(url, 2, { AttributeNames: ["ApproximateReceiveCount"] });
    assert.deepEqual(again.map((m) => m.Body).sort(), [back0.Body, back1.Body].sort());
    for (const m of again) assert.equal(m.Attributes.ApproximateReceiveCount, "2");

    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          ...[...again, ...rest].map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
          { Id: "dbogus", ReceiptHandle: "not-a-receipt-handle" },
        ],
      }),
    );
    assert.deepEqual(deleted.Successful.map((s) => s.Id).sort(), good.map((_, i) => `d${i}`).sort());
    assert.equal(deleted.Failed.length, 1);
    assert.equal(deleted.Failed[0].Id, "dbogus");
    assert.equal(deleted.Failed[0].SenderFault, true);
    assert.equal(deleted.Failed[0].Code, "ReceiptHandleIsInvalid");

    const attrs = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    assert.deepEqual(attrs.Attributes, { ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
  });

  test("TagQueue and ListQueueTags", { timeout: TEST_TIMEOUT_MS }, async () => {
    const url = await createQueue(uniqueName("jsq-tags"));
    const tags = { team: "streams & queues", "cost-center": "<42>", "ünï": "cödé ✓" };
    const out = await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: tags }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    const listed = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }));
    assert.deepEqual(listed.Tags, tags);
  });

  test("GetQueueUrl of a missing queue throws QueueDoesNotExist", { timeout: TEST_TIMEOUT_MS }, async () => {
    const err = await sqs.send(new GetQueueUrlCommand({ QueueName: uniqueName("jsq-missing") })).then(
      () => assert.fail("GetQueueUrl of a missing queue succeeded"),
      (e) => e,
    );
    // Over query the wire code is AWS.SimpleQueueService.NonExistentQueue,
    // which this SDK maps to its QueueDoesNotExist exception; the parsed
    // <Error> element is copied onto the exception as err.Error.
    assert.equal(err.name, "QueueDoesNotExist");
    assert.equal(err.$fault, "client");
    assert.equal(err.$metadata.httpStatusCode, 400);
    assert.ok(err.$metadata.requestId, "x-amzn-RequestId header is surfaced as $metadata.requestId");
    assert.equal(err.Error?.Code, "AWS.SimpleQueueService.NonExistentQueue");
    assert.equal(err.Error?.Type, "Sender");
    assert.match(err.Error?.Message ?? "", /does not exist/);
    // err.message is "UnknownError" with this SDK version whatever the server
    // sends: its QueueDoesNotExist shape has no members, so the query
    // deserializer never lifts <Message> onto the exception (only err.Error
    // carries it). Not asserted: that is the SDK's behaviour, not Sluice's.
    assert.equal(err.RequestId, err.$metadata.requestId, "the body's RequestId matches the header");
    const last = wire[wire.length - 1];
    assert.equal(last.command, "GetQueueUrlCommand");
    assert.equal(last.status, 400);
    assert.match(last.responseType ?? "", /^text\/xml/);
  });

  test("PurgeQueue empties the queue; DeleteQueue removes it", { timeout: TEST_TIMEOUT_MS }, async () => {
    const name = uniqueName("jsq-purge");
    const url = await createQueue(name);
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [0, 1, 2].map((i) => ({ Id: `p${i}`, MessageBody: `purge me ${i}` })),
      }),
    );
    const full = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }));
    assert.equal(full.Attributes.ApproximateNumberOfMessages, "3");

    const purged = await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    assert.equal(purged.$metadata.httpStatusCode, 200);
    await eventually(
      async () => {
        const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessages"] }));
        return a.Attributes.ApproximateNumberOfMessages === "0";
      },
      { what: "the purge to empty the queue" },
    );
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    assert.equal(empty.Messages?.length ?? 0, 0);

    const deleted = await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
    assert.equal(deleted.$metadata.httpStatusCode, 200);
    await eventually(
      async () => {
        const err = await sqs.send(new GetQueueUrlCommand({ QueueName: name })).then(() => null, (e) => e);
        return err?.name === "QueueDoesNotExist";
      },
      { what: "the deleted queue to disappear" },
    );
  });

  test("every request went over the query protocol", { timeout: TEST_TIMEOUT_MS }, () => {
    const commands = new Set(wire.map((w) => w.command));
    for (const c of [
      "CreateQueueCommand",
      "GetQueueUrlCommand",
      "GetQueueAttributesCommand",
      "ListQueuesCommand",
      "SendMessageCommand",
      "ReceiveMessageCommand",
      "SendMessageBatchCommand",
      "DeleteMessageBatchCommand",
      "ChangeMessageVisibilityBatchCommand",
      "TagQueueCommand",
      "ListQueueTagsCommand",
      "PurgeQueueCommand",
      "DeleteQueueCommand",
    ]) {
      assert.ok(commands.has(c), `${c} was sent`);
    }
    for (const w of wire) {
      const action = w.command.replace(/Command$/, "");
      assert.equal(w.contentType, FORM, `${w.command} content-type`);
      const form = new URLSearchParams(w.body);
      assert.equal(form.get("Action"), action, `${w.command} Action`);
      assert.equal(form.get("Version"), "2012-11-05", `${w.command} Version`);
      assert.match(w.responseType ?? "", /^text\/xml/, `${w.command} response content-type`);
    }
  });
});
