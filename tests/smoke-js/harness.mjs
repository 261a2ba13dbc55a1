// Shared helpers for the JS smoke suite (AWS SDK for JavaScript v3).
//
// run.mjs starts bin/sluice and exports SLUICE_ENDPOINT (e.g.
// http://127.0.0.1:40123) before `node --test` runs the *.test.mjs files;
// each file builds its clients with the helpers here. The clients are the
// SDK's own, unchanged: only endpoint, region, static credentials and
// maxAttempts 1 (so that errors surface on the first response) are set.
//
// Versions: package.json pins @aws-sdk/client-sqs and client-kinesis at
// 3.967.0 exactly, the last release whose engines allow Node 18 (Debian 12's
// nodejs); its "overrides" pins @aws-sdk/util-locate-window (browser-only,
// pulled in by @aws-crypto/sha256-browser) at 3.965.0 for the same reason.
// "client-sqs-query" is an npm alias of @aws-sdk/client-sqs 3.445.0, the last
// release that speaks SQS's query protocol (3.447.0 switched to AWS JSON
// 1.0); it brings its own smithy v2 dependency tree (engines >=14), and the
// same override covers the util-locate-window its sha256-browser 3.0.0 wants.

import { createHash, randomBytes } from "node:crypto";

export const REGION = "us-east-1";

export const CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

/** The server's base URL, from run.mjs. */
export function endpoint() {
  const url = process.env.SLUICE_ENDPOINT;
  if (!url) {
    throw new Error("SLUICE_ENDPOINT is not set: run the suite with `node run.mjs --binary bin/sluice`");
  }
  return url;
}

/** Client configuration shared by every client of the suite. */
export function clientConfig(extra = {}) {
  return { endpoint: endpoint(), region: REGION, credentials: CREDENTIALS, maxAttempts: 1, ...extra };
}

/** A name unique to this run (queues and streams outlive a test file). */
export function uniqueName(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls fn until it returns a truthy value or timeoutMs passes. */
export async function eventually(fn, { timeoutMs = 10_000, intervalMs = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function md5Hex(data) {
  return createHash("md5").update(data).digest("hex");
}

/**
 * MD5OfMessageAttributes as SQS defines it: attributes sorted by name, each
 * encoded as length-prefixed (4-byte big-endian) name, length-prefixed data
 * type, one transport byte (1 String/Number, 2 Binary) and the
 * length-prefixed value. Computed here because the JS SDK's
 * middleware-sdk-sqs checks only MD5OfBody/MD5OfMessageBody.
 */
export function md5OfMessageAttributes(attributes) {
  const parts = [];
  const lengthPrefixed = (bytes) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, Buffer.from(bytes));
  };
  for (const name of Object.keys(attributes).sort()) {
    const { DataType, StringValue, BinaryValue } = attributes[name];
    lengthPrefixed(Buffer.from(name, "utf8"));
    lengthPrefixed(Buffer.from(DataType, "utf8"));
    if (BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(BinaryValue);
    } else {
      parts.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(StringValue, "utf8"));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

/**
 * Adds a middleware to client that records, for every command, which kind
 * of response stream the SDK's request handler produced: node:http's
 * IncomingMessage (with httpVersion "1.1") or node:http2's ClientHttp2Stream
 * (whose session's alpnProtocol is "h2c" for cleartext HTTP/2). It sits at
 * the innermost end of the deserialize step, right above the request
 * handler, so it sees the raw response before the body is consumed; it
 * changes nothing. Returns an array of {command, kind, protocol}.
 */
export function recordTransport(client) {
  const seen = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const body = result.response?.body;
      seen.push({
        command: context.commandName,
        kind: body?.constructor?.name,
        protocol: body?.session?.alpnProtocol ?? (body?.httpVersion ? `http/${body.httpVersion}` : undefined),
      });
      return result;
    },
    { step: "deserialize", priority: "low", name: "sluiceSmokeRecordTransport" },
  );
  return seen;
}
