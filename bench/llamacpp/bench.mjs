// Measures llama.cpp on a GGUF file the way `converse bench-engine` measures
// the embedded engine: the same prompt length, the same number of greedy
// decode steps, the same thread count, wall-clock time. llama.cpp comes
// prebuilt from npm (node-llama-cpp's linux-x64 package, every x86-64 CPU
// variant of ggml); nothing is compiled or downloaded at run time.
//
//   npm ci && node bench.mjs [--prompt N] [--tokens N] [--threads N] FILE.gguf
import {getLlama, LlamaLogLevel} from "node-llama-cpp";
import {parseArgs} from "node:util";
import os from "node:os";

const {values, positionals} = parseArgs({
  allowPositionals: true,
  options: {
    prompt: {type: "string", default: "16"},
    tokens: {type: "string", default: "32"},
    threads: {type: "string", default: String(os.availableParallelism())},
    runs: {type: "string", default: "1"},
  },
});
if (positionals.length !== 1) {
  console.error("usage: node bench.mjs [--prompt N] [--tokens N] [--threads N] [--runs N] FILE.gguf");
  process.exit(2);
}
const prompt = Number(values.prompt), decode = Number(values.tokens), threads = Number(values.threads);

let backend = "";
const llama = await getLlama({
  gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true,
  maxThreads: threads, logLevel: LlamaLogLevel.info,
  logger: (level, msg) => {
    if (process.env.LLAMA_LOG) console.error(msg.trimEnd());
    const m = /loaded CPU backend from (\S+)/.exec(msg);
    if (m) backend = m[1];
  },
});
if (!backend) {
  // ggml picks the best CPU variant at load; the library mapped says which.
  const {readFileSync} = await import("node:fs");
  backend = /\S*libggml-cpu-[\w-]+\.so/.exec(readFileSync("/proc/self/maps", "utf8"))?.[0].split("/").pop() ?? "";
}
const model = await llama.loadModel({modelPath: positionals[0], gpuLayers: 0, useMmap: true});
console.log(`model         ${positionals[0]} (${model.fileInfo.metadata.general.architecture}, ${(model.size / 1e6).toFixed(1)} MB)`);
console.log(`llama.cpp     node-llama-cpp 3.22.1 (llama.cpp ${llama.llamaCppRelease.release}), CPU backend ${backend || "(built in)"}, ${threads} threads`);

for (let run = 0; run < Number(values.runs); run++) {
  const context = await model.createContext({contextSize: 512 * Math.ceil((prompt + decode + 1) / 512), threads, batchSize: 512});
  const seq = context.getSequence();
  const tokens = Array.from({length: prompt}, (_, i) => 300 + i);
  let start = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(tokens);
  const prefill = (performance.now() - start) / 1000;
  // Greedy decode: each step evaluates the previous token and samples the
  // next, as bench-engine's loop does.
  let n = 0;
  start = performance.now();
  for await (const _ of seq.evaluate([tokens.at(-1)], {temperature: 0})) {
    if (++n >= decode) break;
  }
  const gen = (performance.now() - start) / 1000;
  console.log(`prompt        ${prompt} tokens in ${prefill.toFixed(3)}s: ${(prompt / prefill).toFixed(1)} tokens/s`);
  console.log(`decode        ${decode} tokens in ${gen.toFixed(3)}s: ${(decode / gen).toFixed(1)} tokens/s`);
  await context.dispose();
}
await model.dispose();
await llama.dispose();
