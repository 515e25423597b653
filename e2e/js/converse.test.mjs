// Drives `converse serve` with the AWS SDK for JavaScript v3 and its default
// request handler, which speaks HTTP/2 only to Bedrock Runtime: cleartext h2
// (prior knowledge) against an http:// endpoint. Run by .ci/run as
//   CONVERSE_BIN=/path/to/converse npm test
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";

const bin = process.env.CONVERSE_BIN;
if (!bin) throw new Error("set CONVERSE_BIN to the converse binary");

const config = `
models:
  "*":
    backend: test
    test:
      replies:
        - match: capital of Italy
          text: The capital of Italy is Rome.
`;

let server;
let client;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), "converse-js-"));
  const cfg = join(dir, "converse.yaml");
  writeFileSync(cfg, config);
  server = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--config", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  const addr = await new Promise((resolve, reject) => {
    let log = "";
    server.stderr.on("data", (b) => {
      log += b.toString();
      const m = log.match(/converse listening\S* addr=(\S+)/);
      if (m) resolve(m[1]);
    });
    server.on("exit", (code) => reject(new Error(`converse exited with ${code}: ${log}`)));
    setTimeout(() => reject(new Error(`converse did not start listening: ${log}`)), 10000).unref();
  });
  client = new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint: `http://${addr}`,
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
    maxAttempts: 1,
  });
});

after(() => {
  client?.destroy();
  server?.kill();
});

const question = { role: "user", content: [{ text: "What is the capital of Italy?" }] };

test("Converse over HTTP/2 cleartext", async () => {
  const out = await client.send(new ConverseCommand({
    modelId: "anthropic.claude-3-haiku-20240307-v1:0",
    messages: [question],
    inferenceConfig: { maxTokens: 512, temperature: 0.5 },
  }));
  assert.equal(out.output.message.role, "assistant");
  assert.equal(out.output.message.content[0].text, "The capital of Italy is Rome.");
  assert.equal(out.stopReason, "end_turn");
  assert.ok(out.usage.inputTokens > 0 && out.usage.outputTokens > 0);
  assert.equal(out.usage.totalTokens, out.usage.inputTokens + out.usage.outputTokens);
  assert.equal(typeof out.metrics.latencyMs, "number");
  assert.ok(out.$metadata.requestId, "x-amzn-RequestId is read by the SDK");
});

test("ConverseStream over HTTP/2 cleartext, with a model ID holding ':' and a profile prefix", async () => {
  const out = await client.send(new ConverseStreamCommand({
    modelId: "us.anthropic.claude-3-haiku-20240307-v1:0",
    messages: [question],
  }));
  const order = [];
  let text = "";
  for await (const ev of out.stream) {
    const kind = Object.keys(ev).find((k) => ev[k] !== undefined);
    if (order.at(-1) !== kind) order.push(kind);
    if (ev.contentBlockDelta) text += ev.contentBlockDelta.delta.text;
    if (ev.metadata) assert.ok(ev.metadata.usage.outputTokens > 0);
  }
  assert.equal(text, "The capital of Italy is Rome.");
  assert.deepEqual(order, ["messageStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]);
});

test("a conversation that starts with the assistant gets Bedrock's ValidationException", async () => {
  await assert.rejects(
    client.send(new ConverseCommand({
      modelId: "meta.llama3-1-8b-instruct-v1:0",
      messages: [{ role: "assistant", content: [{ text: "Hello" }] }],
    })),
    (err) => {
      assert.equal(err.name, "ValidationException");
      assert.equal(err.$metadata.httpStatusCode, 400);
      assert.equal(err.message, "A conversation must start with a user message. Try again with a conversation that starts with a user message.");
      return true;
    },
  );
});

test("an unknown model ID is invalid", async () => {
  await assert.rejects(
    client.send(new ConverseCommand({ modelId: "nobody.no-such-model-v9:0", messages: [question] })),
    { name: "ValidationException", message: "The provided model identifier is invalid." },
  );
});

test("a stream cut mid-way surfaces as a typed exception from the iterator", async () => {
  const out = await client.send(new ConverseStreamCommand({
    modelId: "mistral.mistral-large-2407-v1:0",
    messages: [{ role: "user", content: [{ text: "Count to ten [[fault:stream_cut]]" }] }],
  }));
  await assert.rejects(async () => {
    for await (const _ of out.stream) { /* drain */ }
  }, { name: "ModelStreamErrorException" });
});
