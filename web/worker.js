// The Python host: Pyodide in a module Web Worker, so training never blocks the page.
// Protocol (the page side is web/python.js):
//   page -> worker  {type: "init", sharedFlags?}   {type: "run", id, code, globals?}
//                   sharedFlags (SharedArrayBuffer, 3 x int32): [0] Pyodide's interrupt
//                   buffer (SIGINT), [1] the stop flag pykernel checks at its safe points
//                   (pykernel/interrupts.py), [2] GPU reads in flight (set here)
//   worker -> page  {type: "progress", stage, message, fraction}
//                   {type: "ready", backend, adapter, python, pykernel, timings}
//                   {type: "fatal", message}            (cannot run Python here)
//                   {type: "stdout" | "stderr", text}
//                   {type: "event", name, data}         (training events from Keras callbacks)
//                   {type: "result", id, value, ms}     (the code's last expression, as JSON)
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

async function fetchOk(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} failed: ${response.status} ${response.statusText}`);
  return response;
}

async function chooseBackend() {
  try {
    globalThis.pykernelGpu = await GpuRuntime.create();
    return { backend: "webgpu", adapter: globalThis.pykernelGpu.adapterName };
  } catch (gpuError) {
    // No WebGPU: NumPy is the only other backend fast enough to train; Pyodide fetches it
    // from its CDN, so offline this fails and the page says that WebGPU is required.
    progress("numpy", `WebGPU unavailable (${gpuError.message}); trying NumPy`, 0.8);
    try {
      await pyodide.loadPackage("numpy", { messageCallback: () => {}, errorCallback: () => {} });
      pyodide.runPython("import numpy");
      return { backend: "cpu", adapter: `NumPy (no WebGPU: ${gpuError.message})` };
    } catch (numpyError) {
      throw new Error(`WebGPU is required: ${gpuError.message}. ` +
        "(The NumPy fallback could not be loaded either: it needs Pyodide's package CDN.) " +
        "Use a browser with WebGPU enabled, such as a recent Chrome or Edge.");
    }
  }
}

async function init({ sharedFlags }) {
  progress("runtime", "fetching runtime manifest", 0.02);
  const runtime = await (await fetchOk("/runtime.json")).json();

  progress("pyodide", `loading Python (Pyodide ${runtime.pyodideVersion})`, 0.05);
  const wheelBytes = fetchOk(runtime.wheelURL).then((r) => r.arrayBuffer());   // in parallel
  const { loadPyodide } = await import(`${runtime.pyodideIndexURL}pyodide.mjs`);
  pyodide = await loadPyodide({ indexURL: runtime.pyodideIndexURL });
  pyodide.setStdout({ batched: (text) => post({ type: "stdout", text }) });
  pyodide.setStderr({ batched: (text) => post({ type: "stderr", text }) });
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
  const { backend, adapter } = await chooseBackend();
  if (readsInFlight && globalThis.pykernelGpu) countReads(globalThis.pykernelGpu);
  mark("gpu");

  progress("warmup", "starting pykernel", 0.85);
  globalThis.pykernelEmit = (name, json) => post({ type: "event", name, data: JSON.parse(json) });
  globalThis.pykernelStopRequested = () => (stopFlag ? Atomics.load(stopFlag, 0) !== 0 : false);
  namespace = pyodide.globals.get("dict")();
  const info = JSON.parse(await pyodide.runPythonAsync(
    "import pykernel.playground\nfrom pykernel.playground import to_json as __pykernel_to_json__\n" +
    `pykernel.playground.start(${JSON.stringify(backend)})`, { globals: namespace }));
  mark("ready");
  post({ type: "ready", backend, adapter, python: info.python, pykernel: info.pykernel, timings });
}

// The page must not send SIGINT while Python waits on a GPU read (python.js stop()).
function countReads(runtime) {
  const read = runtime.read.bind(runtime);
  runtime.read = async (...args) => {
    Atomics.add(readsInFlight, 0, 1);
    try { return await read(...args); } finally { Atomics.sub(readsInFlight, 0, 1); }
  };
}

// Pyodide's traceback starts with its own frames (the code runner); the user's begin
// at "<exec>", so those are the ones worth showing.
function userTraceback(text) {
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.includes('File "<exec>"'));
  return first > 0 ? [lines[0], ...lines.slice(first)].join("\n") : text;
}

async function run({ id, code, globals }) {
  const t0 = performance.now();
  if (interruptBuffer) { Atomics.store(interruptBuffer, 0, 0); Atomics.store(stopFlag, 0, 0); }
  try {
    for (const [name, value] of Object.entries(globals || {})) namespace.set(name, pyodide.toPy(value));
    const result = await pyodide.runPythonAsync(code, { globals: namespace });
    // converted inside runPythonAsync too: a tensor result is read from the GPU (JSPI)
    namespace.set("__pykernel_result__", result);
    if (result && result.destroy) result.destroy();
    const value = JSON.parse(await pyodide.runPythonAsync(
      "__pykernel_to_json__(__pykernel_result__)", { globals: namespace }));
    namespace.set("__pykernel_result__", null);
    post({ type: "result", id, value, ms: performance.now() - t0 });
  } catch (error) {
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
