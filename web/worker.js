// The Python host: Pyodide in a module Web Worker, so training never blocks the page.
// Protocol (the page side is web/python.js):
//   page -> worker  {type: "init", sharedFlags?}   {type: "run", id, code, globals?, repr?}
//                   sharedFlags (SharedArrayBuffer, 3 x int32): [0] Pyodide's interrupt
//                   buffer (SIGINT), [1] the stop flag pykernel checks at its safe points
//                   (pykernel/interrupts.py), [2] GPU reads in flight (set here)
//   worker -> page  {type: "progress", stage, message, fraction}
//                   {type: "ready", backend, adapter, python, pykernel, timings}
//                   {type: "fatal", message}            (cannot run Python here)
//                   {type: "output", chunks}            (printed text, at most every OUTPUT_INTERVAL_MS:
//                     chunks [{type: "stdout" | "stderr", text} (lines joined by "\n"), {type: "omitted", lines}])
//                   {type: "event", name, data}         (training events from Keras callbacks)
//                   {type: "gpu-lost", message}         (the WebGPU device is gone: only a restart helps)
//                   {type: "result", id, value, repr?, ms}  (the code's last expression: JSON, with NaN
//                     and +-Infinity kept; repr, when asked for, is how Python writes it)
//                   {type: "error", id, message, traceback, interrupted}
import { GpuRuntime } from "./gpu_runtime.js";

const post = (message) => self.postMessage(message);
const startedAt = performance.now();
const timings = {};
const mark = (name) => { timings[name] = Math.round(performance.now() - startedAt); };
const progress = (stage, message, fraction) => post({ type: "progress", stage, message, fraction });

let pyodide = null;
let namespace = null;       // one globals dict shared by every run, like a notebook
let interruptBuffer = null;
let stopFlag = null;
let readsInFlight = null;
let queue = Promise.resolve();

// Printed output: one message per line froze the page on floods (each was a forced layout
// there), so lines are batched here. Python may hold this thread for a whole run, where no
// timer fires, so each write also checks the clock. A flood sends the page at most
// OUTPUT_HEAD + OUTPUT_TAIL lines per flush and says how many lines were left out between.
const OUTPUT_INTERVAL_MS = 33;
const OUTPUT_HEAD = 100, OUTPUT_TAIL = 2000, OUTPUT_TAIL_CHARS = 200_000;
const output = { head: [], tail: [], tailChars: 0, omitted: 0, lastFlush: 0, timer: 0 };

function write(type, text) {
  // the pane keeps no more than this of a line either: send a longer line's end only
  if (text.length > OUTPUT_TAIL_CHARS) text = `…${text.slice(-OUTPUT_TAIL_CHARS)}`;
  if (output.head.length < OUTPUT_HEAD) output.head.push([type, text]);
  else {
    output.tail.push([type, text]);
    output.tailChars += text.length;
    // trimmed in batches, so a flood costs O(1) per line
    if (output.tail.length > 2 * OUTPUT_TAIL || output.tailChars > 2 * OUTPUT_TAIL_CHARS) trimTail();
  }
  const now = performance.now();
  if (now - output.lastFlush >= OUTPUT_INTERVAL_MS) flushOutput();
  else if (!output.timer) output.timer = setTimeout(flushOutput, OUTPUT_INTERVAL_MS);
}

function trimTail() {
  let drop = Math.max(0, output.tail.length - OUTPUT_TAIL);
  let chars = output.tailChars;
  for (let i = 0; i < drop; i++) chars -= output.tail[i][1].length;
  while (drop < output.tail.length - 1 && chars > OUTPUT_TAIL_CHARS) chars -= output.tail[drop++][1].length;
  output.tail.splice(0, drop);
  output.tailChars = chars;
  output.omitted += drop;
}

function flushOutput() {
  clearTimeout(output.timer);
  output.timer = 0;
  output.lastFlush = performance.now();
  if (!output.head.length) return;
  trimTail();
  const chunks = [];
  const add = ([type, text]) => {
    const last = chunks[chunks.length - 1];
    if (last && last.type === type) last.lines.push(text);
    else chunks.push({ type, lines: [text] });
  };
  output.head.forEach(add);
  if (output.omitted) chunks.push({ type: "omitted", lines: output.omitted });
  output.tail.forEach(add);
  Object.assign(output, { head: [], tail: [], tailChars: 0, omitted: 0 });
  post({ type: "output", chunks: chunks.map((c) => (c.type === "omitted" ? c : { type: c.type, text: c.lines.join("\n") })) });
}

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} failed: ${response.status} ${response.statusText}`);
  return response;
}

/** {runtime} or {error}; with a runtime, the warm-up shaders (if the server has them) start
 * compiling. A failed fetch of them costs only the head start. */
async function openGpu(shadersURL) {
  let runtime;
  try {
    runtime = await GpuRuntime.create();
  } catch (error) {
    return { error };
  }
  if (shadersURL) {
    try {
      timings.precompiled = runtime.precompile(await (await fetchOk(shadersURL)).json());
    } catch (error) {
      console.warn("pykernel: the warm-up shaders were not precompiled:", error.message);
    }
  }
  mark("gpu_open");
  return { runtime };
}

async function chooseBackend({ runtime, error: gpuError }) {
  if (runtime) {
    globalThis.pykernelGpu = runtime;
    return { backend: "webgpu", adapter: runtime.adapterName };
  }
  // No WebGPU: the CPU, with NumPy where Pyodide can fetch it (from its CDN); offline, the
  // pure-Python backend (it trains small models; the page says large ones are slow).
  progress("numpy", `WebGPU unavailable (${gpuError.message}); trying NumPy`, 0.8);
  try {
    await pyodide.loadPackage("numpy", { messageCallback: () => {}, errorCallback: () => {} });
    pyodide.runPython("import numpy");
    return { backend: "cpu", adapter: `NumPy (no WebGPU: ${gpuError.message})` };
  } catch (numpyError) {
    return { backend: "cpu", adapter: `pure Python (no WebGPU: ${gpuError.message}; NumPy needs Pyodide's package CDN)` };
  }
}

async function init({ sharedFlags }) {
  progress("runtime", "fetching runtime manifest", 0.02);
  const runtime = await (await fetchOk("/runtime.json")).json();

  progress("pyodide", `loading Python (Pyodide ${runtime.pyodideVersion})`, 0.05);
  const wheelBytes = fetchOk(runtime.wheelURL).then((r) => r.arrayBuffer());   // in parallel
  // the GPU opens meanwhile too, and compiles the warm-up's shaders while Pyodide loads
  const gpu = openGpu(runtime.warmupShadersURL);
  const { loadPyodide } = await import(`${runtime.pyodideIndexURL}pyodide.mjs`);
  pyodide = await loadPyodide({ indexURL: runtime.pyodideIndexURL });
  pyodide.setStdout({ batched: (text) => write("stdout", text) });
  pyodide.setStderr({ batched: (text) => write("stderr", text) });
  if (sharedFlags) {
    interruptBuffer = new Int32Array(sharedFlags, 0, 1);
    stopFlag = new Int32Array(sharedFlags, 4, 1);
    readsInFlight = new Int32Array(sharedFlags, 8, 1);
    pyodide.setInterruptBuffer(interruptBuffer);
  }
  mark("pyodide");

  progress("pykernel", "installing pykernel", 0.6);
  pyodide.unpackArchive(await wheelBytes, "wheel");
  mark("wheel");

  progress("gpu", "opening the GPU", 0.7);
  const { backend, adapter } = await chooseBackend(await gpu);
  if (globalThis.pykernelGpu) watchDevice(globalThis.pykernelGpu);
  mark("gpu");

  progress("warmup", "starting pykernel", 0.85);
  globalThis.pykernelEmit = (name, json) => { flushOutput(); post({ type: "event", name, data: JSON.parse(json) }); };
  globalThis.pykernelStopRequested = () => (stopFlag ? Atomics.load(stopFlag, 0) !== 0 : false);
  namespace = pyodide.globals.get("dict")();
  const info = JSON.parse(await pyodide.runPythonAsync(
    "import pykernel.playground\nfrom pykernel.playground import result_for_page as __pykernel_result_for_page__\n" +
    `pykernel.playground.start(${JSON.stringify(backend)})`, { globals: namespace }));
  mark("started");
  // start compiling the common kernels (asynchronous: the GPU process compiles while we go on)
  if (backend === "webgpu") await pyodide.runPythonAsync("import pykernel.backends.webgpu.warmup as w\nw.warmup()").catch((e) => console.warn("pykernel warmup failed:", e.message));
  mark("ready");
  post({ type: "ready", backend, adapter, python: info.python, pykernel: info.pykernel, timings });
}

// A lost device is for good: tell the page (it offers a restart), and end GPU reads at once,
// which a lost device may otherwise leave pending, so a run fails with the reason instead of
// hanging. Reads are counted because the page must not send SIGINT while Python waits on one
// (python.js stop()).
function watchDevice(runtime) {
  let lost = null;
  const failing = new Set();   // the reject functions of the reads in flight
  runtime.device.lost.then((info) => {
    const detail = (info.message || "").replace(/\.$/, "");
    lost = `the GPU device was lost (${info.reason || "unknown reason"}${detail ? `: ${detail}` : ""})`;
    post({ type: "gpu-lost", message: lost });
    for (const reject of failing) reject(new Error(lost));
  });
  const read = runtime.read.bind(runtime);
  runtime.read = (...args) => {
    if (lost) return Promise.reject(new Error(lost));
    if (readsInFlight) Atomics.add(readsInFlight, 0, 1);
    return new Promise((resolve, reject) => {
      failing.add(reject);
      read(...args).then(resolve, reject).finally(() => {
        failing.delete(reject);
        if (readsInFlight) Atomics.sub(readsInFlight, 0, 1);
      });
    });
  };
}

// Results come as JSON from Python (pykernel/playground.py to_json), where JSON has no NaN
// or Infinity: those arrive tagged and become numbers again here (postMessage keeps them).
const FLOAT_TAG = "__pykernel_float__";
const reviveFloats = (key, value) =>
  (value !== null && typeof value === "object" && typeof value[FLOAT_TAG] === "string" ? Number(value[FLOAT_TAG]) : value);
const parseResult = (json) => JSON.parse(json, json.includes(FLOAT_TAG) ? reviveFloats : undefined);

// Pyodide's traceback starts with its own frames (the code runner); the user's begin
// at "<exec>", so those are the ones worth showing.
function userTraceback(text) {
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.includes('File "<exec>"'));
  return first > 0 ? [lines[0], ...lines.slice(first)].join("\n") : text;
}

async function run({ id, code, globals, repr }) {
  const t0 = performance.now();
  if (interruptBuffer) { Atomics.store(interruptBuffer, 0, 0); Atomics.store(stopFlag, 0, 0); }
  try {
    for (const [name, value] of Object.entries(globals || {})) namespace.set(name, pyodide.toPy(value));
    const result = await pyodide.runPythonAsync(code, { globals: namespace });
    // converted inside runPythonAsync too: a tensor result is read from the GPU (JSPI)
    namespace.set("__pykernel_result__", result);
    if (result && result.destroy) result.destroy();
    const converted = await pyodide.runPythonAsync(
      `__pykernel_result_for_page__(__pykernel_result__, ${repr ? "True" : "False"})`, { globals: namespace });
    const [json, text] = converted.toJs();
    converted.destroy();
    namespace.set("__pykernel_result__", null);
    flushOutput();
    post({ type: "result", id, value: parseResult(json), repr: text ?? undefined, ms: performance.now() - t0 });
  } catch (error) {
    flushOutput();
    const traceback = userTraceback(String(error.message || error));
    const lines = traceback.trim().split("\n");
    post({
      type: "error", id, traceback, message: lines[lines.length - 1],
      interrupted: error.type === "KeyboardInterrupt",
    });
  }
}

self.onmessage = ({ data: message }) => {
  if (message.type === "init") {
    queue = queue.then(() => init(message)).catch((error) => post({ type: "fatal", message: String(error.message || error) }));
  } else if (message.type === "run") {
    queue = queue.then(() => run(message));
  }
};
