// The playground page: a Keras model builder whose settings become plain Keras code (the
// editor shows it; Train runs exactly that), live training charts from the worker's
// training events, a draw-a-digit pad for MNIST models and a decision-boundary plot for
// the 2-D sets. Python runs in a Web Worker (python.js), so the page stays responsive.
//
// window.pykernelApp is the page's state for tests and the console: state ('loading' |
// 'ready' | 'running' | 'lost' (the GPU device is gone) | 'fatal'), readyMs, backend,
// adapter, python (the PythonWorker), history (training events), testAccuracy, lastResult,
// lastError, prediction, model, gpuLost, output() (what the output pane holds), devices (those
// Python can train on), deviceChoice (the device of the last Train and why: {setting, device,
// rule, ms, reason, timed}), lastCode (the code the last user run ran).
import { PythonWorker } from "./python.js";
import { LineChart } from "./chart.js";
import { DigitPad, drawPreview } from "./digit_pad.js";
import { PointsPlot } from "./points_plot.js";
import {
  ACTIVATIONS, DATASETS, LAYER_TYPES, defaultLayers, defaultSettings, defaultTraining,
  deviceKey, generateCode, newLayer, planModel, probeCode, sanitizeSettings,
} from "./codegen.js";

const $ = (id) => document.getElementById(id);
const OUTPUT_MAX_LINES = 2000;     // the output pane keeps the last lines only
const OUTPUT_MAX_CHARS = 200_000;
const MAX_EVENTS = 5000;
// Stop's flag and SIGINT (python.js, after 1.5 s) end Python code within moments; what still
// runs after this long waits in time.sleep or loops in C, which nothing interrupts.
const STOP_GRACE_MS = 4000;
const NOT_FINITE = "NaN or inf";   // Keras events send non-finite logs as null
let runSeq = 0;

// Helpers the page calls in the Python namespace (names start with __pg_ so they stay
// out of the user's way). Defined once Python is ready.
const PY_HELPERS = String.raw`
def __pg_model_info():
    m = globals().get("model")
    if m is None or not hasattr(m, "predict"):
        return None
    info = {"class": type(m).__name__, "input": None, "output": None, "params": None, "steps": 0}
    try:
        info["input"] = list(m.input_shape) if m.input_shape is not None else None
        info["output"] = list(m.output_shape) if m.output_shape is not None else None
    except Exception:
        pass
    try:
        info["params"] = int(m.count_params())
    except Exception:
        pass
    try:
        info["steps"] = int(m.optimizer.iterations)
    except Exception:
        pass
    return info

def __pg_points(name=None, n_samples=500, noise=0.0):
    """The 2-D points: the named dataset, or x_train/x_test of the namespace."""
    g = globals()
    if name is not None:
        from pykernel import keras
        (a, b), (c, d) = keras.datasets.playground.load_data(name, n_samples=n_samples, noise=noise, test_split=0.5)
    else:
        a, b, c, d = (g.get(k) for k in ("x_train", "y_train", "x_test", "y_test"))
        if any(v is None or not hasattr(v, "shape") for v in (a, b, c, d)) or tuple(a.shape)[1:] != (2,):
            return None
    return {"train": a.tolist(), "trainLabels": b.tolist(), "test": c.tolist(), "testLabels": d.tolist()}

def __pg_boundary(n=40, lim=6.0):
    """The model's probability of class 1 on an n x n grid over [-lim, lim]^2, top row first."""
    import pykernel as tf
    m = globals()["model"]
    g = [-lim + 2.0 * lim * (i + 0.5) / n for i in range(n)]
    points = [[x, y] for y in reversed(g) for x in g]
    p = m.predict(tf.constant(points, dtype=tf.float32), batch_size=len(points), verbose=0).tolist()
    return [row[-1] for row in p]
`;

// -- state --------------------------------------------------------------------------------

let settings = defaultSettings("mnist");
let generated = generateCode(settings);
// Auto's timed choices (pykernel.playground.choose_device), by deviceKey(settings): a model is
// timed once, when it is first trained, and again only when the model or the batch changes.
const deviceChoices = new Map();
let codeEdited = false;
let userRun = null;                // {kind} while a user's run (train, run, predict, reset) is in flight
let chain = Promise.resolve();     // every python.run goes through here: one at a time
let stopTimer = 0;

const app = {
  state: "loading",
  readyMs: null,
  backend: null,
  adapter: null,
  info: null,
  python: null,
  model: null,                     // __pg_model_info() after the last run
  history: { batches: [], epochs: [], begin: null, end: null, evaluate: null },
  events: [],
  testAccuracy: null,
  testLoss: null,
  lastResult: undefined,
  lastError: null,
  lastRun: null,                   // {kind, ok, stopped, restarted, lossNotFinite, ms}
  lastCode: null,
  devices: [],                     // "cpu", and "webgpu" where the browser has it
  deviceChoice: null,
  gpuLost: null,                   // why the GPU device is gone, until Python restarts
  stopped: false,
  prediction: null,                // {probs, top, sum}
  runs: 0,                         // user runs finished
  pending: 0,                      // Python runs queued or in flight (the page's own included)
  idle: () => app.state === "ready" && app.pending === 0,
  settings: () => sanitizeSettings(settings),
  generatedCode: () => generated.code,
  code: () => $("code").value,
  setCode: (text) => { const ed = $("code"); ed.value = text; onCodeInput(); },
  chartCounts: () => ({
    lossBatch: charts.loss.count("batch"), lossEpoch: charts.loss.count("train"), lossVal: charts.loss.count("val"),
    accBatch: charts.acc.count("batch"), accEpoch: charts.acc.count("train"), accVal: charts.acc.count("val"),
  }),
  chartValues: (chart, key) => charts[chart].values(key),
  chartDraws: () => charts.loss.draws + charts.acc.draws,
  digitEnabled: () => digitModelReady(),
  pixels: () => (pad ? pad.pixels() : null),
  output: () => ({ lines: pane.lines, chars: pane.chars, dropped: pane.dropped, spans: pane.spans.length }),
};
window.pykernelApp = app;

// -- status bar -----------------------------------------------------------------------------

function setState(state, text) {
  app.state = state;
  $("status").dataset.state = state;
  $("state-pill").textContent = state;
  if (text !== undefined) $("status-text").textContent = text;
  updateControls();
}

function readyText() {
  return app.backend === "webgpu" ? `Ready: WebGPU on ${app.adapter}` : `Ready: CPU only, ${app.adapter}`;
}

const lostText = () => `GPU lost: ${app.gpuLost}. Restart Python to continue (its variables, the model too, are lost).`;

/** The state between runs: ready, or waiting for a restart after the GPU was lost. */
function setIdle() {
  if (app.gpuLost) setState("lost", lostText());
  else setState("ready", readyText());
  $("restart-python").hidden = !app.gpuLost;
}

function onProgress({ message, fraction }) {
  if (app.state !== "loading") return;
  $("status-text").textContent = message;
  if (Number.isFinite(fraction)) $("progress-bar").style.width = `${Math.round(fraction * 100)}%`;
}

function updateControls() {
  const ready = app.state === "ready";
  const busy = app.state === "running";
  $("train").disabled = !ready;
  $("run-code").disabled = !ready;
  $("reset").disabled = !ready;
  $("stop").disabled = !(busy && userRun && userRun.kind !== "predict");
  $("reset-code").disabled = !codeEdited;
  updateDigitPad();
}

// -- output pane ------------------------------------------------------------------------------
// Python's output arrives in bursts (worker.js batches it) and is appended once per animation
// frame; the pane keeps the last OUTPUT_MAX_LINES lines (OUTPUT_MAX_CHARS characters) and says
// how many it dropped. Nothing here reads layout per message: a flood of prints must leave
// the page responsive. The page's own lines (print) are appended at once, after any queued output.

const pane = {
  queue: [],        // [cls, text] not shown yet
  spans: [],        // {node, lines, represents}: shown, oldest first; lines = newlines in the node
  lines: 0, chars: 0,
  dropped: 0,       // lines of output no longer shown
  marker: null,     // "… N earlier lines not shown …", first in the pane
  frame: 0,
  follow: true,     // keep the end in view, unless the user scrolled up
  ownScrollTop: -1,
};

const countLines = (text) => { let n = 0; for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++; return n; };

function appendSpan(cls, text, represents) {
  const span = document.createElement("span");
  span.className = cls;
  span.textContent = text.endsWith("\n") ? text : `${text}\n`;
  const lines = countLines(span.textContent);
  pane.spans.push({ node: span, lines, represents: represents ?? lines });
  pane.lines += lines;
  pane.chars += span.textContent.length;
  $("output").appendChild(span);
  return span;
}

function renderQueue() {
  const queue = pane.queue;
  pane.queue = [];
  for (let i = 0; i < queue.length;) {   // one span per run of one stream
    const [cls, text, represents] = queue[i];
    let j = i + 1;
    if (represents === undefined) while (j < queue.length && queue[j][0] === cls && queue[j][2] === undefined) j++;
    appendSpan(cls, j === i + 1 ? text : queue.slice(i, j).map((q) => q[1]).join("\n"), represents);
    i = j;
  }
  trimOutput();
}

function trimOutput() {
  while (pane.lines > OUTPUT_MAX_LINES || pane.chars > OUTPUT_MAX_CHARS) {
    const first = pane.spans[0];
    const text = first.node.textContent;
    const extraLines = pane.lines - OUTPUT_MAX_LINES, extraChars = pane.chars - OUTPUT_MAX_CHARS;
    if (first.lines <= extraLines || text.length <= extraChars || first.represents !== first.lines) {
      first.node.remove();
      pane.spans.shift();
      pane.lines -= first.lines;
      pane.chars -= text.length;
      pane.dropped += first.represents;
      continue;
    }
    let cut = 0;   // keep the end of this span: whole lines, unless one line alone is too long
    for (let k = 0; k < extraLines; k++) cut = text.indexOf("\n", cut) + 1;
    cut = Math.max(cut, extraChars);
    const gone = countLines(text.slice(0, cut));
    first.node.textContent = text.slice(cut);
    first.lines -= gone;
    first.represents = first.lines;
    pane.lines -= gone;
    pane.chars -= cut;
    pane.dropped += gone;
  }
  if (pane.dropped) {
    if (!pane.marker) {
      pane.marker = document.createElement("span");
      pane.marker.className = "info dropped";
      pane.marker.dataset.testid = "output-dropped";
    }
    if (pane.marker !== $("output").firstChild) $("output").prepend(pane.marker);
    pane.marker.textContent = `… ${pane.dropped.toLocaleString("en-US")} earlier lines not shown …\n`;
  }
}

function scheduleOutputFrame() {
  if (!pane.frame) pane.frame = requestAnimationFrame(outputFrame);
}

function outputFrame() {
  pane.frame = 0;
  renderQueue();
  const out = $("output");
  if (pane.follow) {   // the one layout read of the frame
    out.scrollTop = out.scrollHeight;
    pane.ownScrollTop = out.scrollTop;
  }
}

function onOutputScroll() {
  const out = $("output");
  if (Math.abs(out.scrollTop - pane.ownScrollTop) < 2) return;   // ours (the pane grew since)
  pane.ownScrollTop = -1;
  pane.follow = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
}

/** Python's output: shown by the next animation frame. */
function queueOutput(cls, text, represents) {
  pane.queue.push([cls, text, represents]);
  scheduleOutputFrame();
}

/** The page's own line, shown now (after the output queued before it). */
function print(text, cls = "stdout") {
  renderQueue();
  const span = appendSpan(cls, text);
  trimOutput();
  scheduleOutputFrame();
  return span;
}

function clearOutput() {
  $("output").textContent = "";
  Object.assign(pane, { queue: [], spans: [], lines: 0, chars: 0, dropped: 0, follow: true });
}

function showResult(value, repr) {
  if (value === null || value === undefined) return;
  print(`Out: ${repr ?? JSON.stringify(value)}`, "result");   // repr: Python's spelling (nan, inf, True)
}

// -- charts and training events -------------------------------------------------------------

const charts = {
  loss: new LineChart($("loss-chart"), {
    title: "Loss", xLabel: "epoch", series: [
      { key: "batch", label: "train (batch)", short: "batch", color: "#a5b4fc", width: 1.2 },
      { key: "train", label: "train", color: "#2563eb", dots: true },
      { key: "val", label: "validation", short: "val", color: "#f97316", dots: true, dash: [5, 3] },
    ],
  }),
  acc: new LineChart($("accuracy-chart"), {
    title: "Accuracy", xLabel: "epoch", yMin: 0, yMax: 1, series: [
      { key: "batch", label: "train (batch)", short: "batch", color: "#a5b4fc", width: 1.2 },
      { key: "train", label: "train", color: "#2563eb", dots: true },
      { key: "val", label: "validation", short: "val", color: "#f97316", dots: true, dash: [5, 3] },
    ],
  }),
};

function accuracyOf(logs, prefix = "") {
  if (!logs) return null;
  for (const k of ["accuracy", "acc", "sparse_categorical_accuracy", "binary_accuracy", "categorical_accuracy"]) {
    if (logs[prefix + k] !== undefined) return logs[prefix + k];
  }
  const key = Object.keys(logs).find((k) => k.startsWith(prefix) && k.endsWith("accuracy") && (prefix || !k.startsWith("val_")));
  return key ? logs[key] : null;
}

const fmt = (v, digits = 4) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)}%`);
// a loss of null is a loss that was not finite: a diverged run must not look like a missing value
const fmtLoss = (v, digits = 4) => (v === null ? NOT_FINITE : fmt(v, digits));

function noteLoss(logs) {
  if (logs && logs.loss === null && userRun) userRun.lossNotFinite = true;
}

function resetTraining() {
  app.history = { batches: [], epochs: [], begin: null, end: null, evaluate: null };
  charts.loss.clear();
  charts.acc.clear();
  app.testAccuracy = null;
  app.testLoss = null;
  $("test-accuracy").hidden = true;
  $("train-bar").style.width = "0";
}

function onEvent(name, data) {
  app.events.push({ name, data, t: performance.now() });
  if (app.events.length > MAX_EVENTS) app.events.splice(0, app.events.length - MAX_EVENTS);
  const h = app.history;
  if (name === "train_begin") {
    resetTraining();
    app.history.begin = data;
    charts.loss.setXMax(data.epochs || 1);
    charts.acc.setXMax(data.epochs || 1);
    $("train-progress").textContent = `Epoch 1/${data.epochs} · starting…`;
  } else if (name === "batch") {
    h.batches.push(data);
    const x = data.epoch - 1 + data.step / (data.steps || 1);
    charts.loss.push("batch", x, data.logs.loss);
    charts.acc.push("batch", x, accuracyOf(data.logs));
    const epochs = h.begin?.epochs || data.epoch;
    noteLoss(data.logs);
    $("train-progress").textContent =
      `Epoch ${data.epoch}/${epochs} · step ${data.step}/${data.steps ?? "?"} · loss ${fmtLoss(data.logs.loss)} · accuracy ${fmt(accuracyOf(data.logs))}`;
    if (data.steps) $("train-bar").style.width = `${Math.min(100, (x / epochs) * 100)}%`;
  } else if (name === "epoch") {
    h.epochs.push(data);
    const { logs } = data;
    charts.loss.push("train", data.epoch, logs.loss);
    charts.acc.push("train", data.epoch, accuracyOf(logs));
    charts.loss.push("val", data.epoch, logs.val_loss);
    charts.acc.push("val", data.epoch, accuracyOf(logs, "val_"));
    noteLoss(logs);
    const val = logs.val_loss !== undefined ? ` · val accuracy ${fmt(accuracyOf(logs, "val_"))}` : "";
    $("train-progress").textContent =
      `Epoch ${data.epoch}/${data.epochs} done · loss ${fmtLoss(logs.loss)} · accuracy ${fmt(accuracyOf(logs))}${val}`;
    $("train-bar").style.width = `${Math.min(100, (data.epoch / (data.epochs || 1)) * 100)}%`;
  } else if (name === "train_end") {
    h.end = data;
    const n = h.epochs.length;
    $("train-progress").textContent = data.stopped
      ? `Training stopped early after ${n} epoch${n === 1 ? "" : "s"}.`
      : `Trained ${n} epoch${n === 1 ? "" : "s"} · loss ${fmtLoss(data.logs.loss)} · accuracy ${fmt(accuracyOf(data.logs))}`;
  } else if (name === "evaluate") {
    h.evaluate = data;
    app.testAccuracy = accuracyOf(data.logs);
    app.testLoss = data.logs.loss ?? null;
    noteLoss(data.logs);
    const el = $("test-accuracy");
    const loss = data.logs.loss;
    el.textContent = app.testAccuracy !== null
      ? `Test accuracy ${pct(app.testAccuracy)}` + (loss !== undefined ? ` · loss ${fmtLoss(loss, 3)}` : "")
      : `Test loss ${fmtLoss(loss)}`;
    el.classList.toggle("warning", loss === null);
    el.hidden = false;
  }
}

function onMessage(m) {
  switch (m.type) {
    case "progress": onProgress(m); break;
    case "stdout": queueOutput("stdout", m.text); break;
    case "stderr": queueOutput("stderr", m.text); break;
    case "omitted": queueOutput("info", `… ${m.lines.toLocaleString("en-US")} lines omitted …`, m.lines); break;
    case "gpu-lost": onGpuLost(m.message); break;
    case "event": onEvent(m.name, m.data); break;
    case "fatal":
      if (app.state !== "loading") {
        print(`Python stopped working: ${m.message}`, "error");
        setState("fatal", `Python stopped working: ${m.message}`);
      }
      break;
    default: break;
  }
}

// -- running Python ----------------------------------------------------------------------------

/** Queue a run: resolves {ok, value, repr?} or {ok: false, error}; never rejects. */
function exec(code, globals, { repr = false } = {}) {
  app.pending += 1;
  const request = () => (repr ? app.python.runWithRepr(code, globals) : app.python.run(code, globals).then((value) => ({ value })));
  const run = chain.then(request).then(
    ({ value, repr: text }) => ({ ok: true, value, repr: text }),
    (error) => ({ ok: false, error }),
  ).finally(() => { app.pending -= 1; });
  chain = run.then(() => {});
  return run;
}

/** A run the user asked for (Train, Run, Reset, a digit): the page shows it as running. */
/** `code` may be a function, called when the run starts: after `before` (an async step of the
 * same run, e.g. timing the model on each device), which returns {ok} or exec's {ok: false, error}. */
async function runUser(kind, code, { globals, quiet = false, before = null } = {}) {
  if (userRun || app.state !== "ready") return null;
  const run = { kind, id: ++runSeq, lossNotFinite: false };
  userRun = run;
  const t0 = performance.now();
  app.stopped = false;
  if (!quiet) {
    clearOutput();
    print(kind === "train" ? "▶ Training (the code in the editor)…" : "▶ Running…", "info");
  }
  setState("running", kind === "train" ? "Training…" : "Running…");
  const prepared = before ? await before().catch((error) => ({ ok: false, error })) : { ok: true };
  let result = prepared;
  if (prepared.ok) {
    const source = typeof code === "function" ? code() : code;
    app.lastCode = source;
    result = await exec(source, globals, { repr: !quiet });
  }
  clearTimeout(stopTimer);
  const ms = Math.round(performance.now() - t0);
  const restarted = !result.ok && result.error.restarted;
  app.runs += 1;
  if (result.ok) {
    app.lastResult = result.value;
    app.lastError = null;
    if (!quiet) {
      showResult(result.value, result.repr);
      if (run.lossNotFinite) {
        print(`⚠ done in ${(ms / 1000).toFixed(1)} s, but the loss is ${NOT_FINITE}: the training diverged ` +
          "(try a lower learning rate, or look for NaN in the data)", "warning").dataset.testid = "loss-warning";
      } else {
        print(`✓ done in ${(ms / 1000).toFixed(1)} s`, "info");
      }
    }
  } else if (restarted) {
    // Stop, or Restart, ended the run with the worker: nothing of it is left
    app.stopped = true;
    app.lastError = null;
    app.model = null;
    print("■ stopped: Python was restarted; its variables (the model too) are gone", "stopped");
    if (kind === "train" || app.history.begin) $("train-progress").textContent = "Stopped: Python was restarted, so the model is gone.";
  } else if (result.error.interrupted || /\bRunStopped: stopped from the page$/.test(result.error.message || "")) {
    app.stopped = true;
    app.lastError = null;
    const training = kind === "train" || app.history.begin;
    print(`■ stopped: the run was interrupted; ${training ? "the model keeps what it had learned so far" : "Python's variables are kept"}`, "stopped");
    if (training) {
      const done = app.history.epochs.length;
      const last = app.history.batches[app.history.batches.length - 1];
      $("train-progress").textContent = !last
        ? "Stopped before the first training step."
        : `Stopped in epoch ${last.epoch} (${done} complete epoch${done === 1 ? "" : "s"}); the model keeps its partly trained weights.`;
    }
  } else {
    const { message, traceback } = result.error;
    app.lastError = { message, traceback: traceback || message };
    const el = print(traceback || message, "error");
    el.dataset.testid = "error";
    if (kind === "train") $("train-progress").textContent = `Training failed: ${message}`;
  }
  app.lastRun = { kind, ok: result.ok, stopped: app.stopped, restarted, lossNotFinite: run.lossNotFinite, ms };
  userRun = null;
  if (app.state === "running") setIdle();
  if (!quiet && !restarted && app.state === "ready") await refreshModel();
  else updateDigitPad();
  return result;
}

async function refreshModel() {
  if (app.state === "fatal") return;
  const r = await exec("__pg_model_info()");
  app.model = r.ok ? r.value : null;
  updateDigitPad();
  if (app.model && app.model.input && app.model.input.length === 2 && app.model.input[1] === 2 && app.model.steps > 0) {
    await refreshBoundary();
  } else {
    plot.setField(null);
  }
}

async function refreshBoundary() {
  const n = 40;
  const [field, points] = [await exec(`__pg_boundary(${n}, 6.0)`), await exec("__pg_points()")];
  if (field.ok) plot.setField(field.value, n, 6);
  if (points.ok && points.value) {
    const p = points.value;
    plot.setPoints(p.train, p.trainLabels, p.test, p.testLabels);
  }
}

let previewTimer = 0;
function schedulePointsPreview() {
  clearTimeout(previewTimer);
  if (settings.dataset === "mnist") return;
  previewTimer = setTimeout(async () => {
    if (app.state !== "ready") { schedulePointsPreview(); return; }
    const s = sanitizeSettings(settings);
    const r = await exec(`__pg_points(${JSON.stringify(s.dataset)}, ${s.points.samples}, ${s.points.noise})`);
    if (r.ok && r.value) {
      plot.setField(null);
      plot.setPoints(r.value.train, r.value.trainLabels, r.value.test, r.value.testLabels);
    }
  }, 250);
}

function train() {
  // Train runs exactly the code in the editor (the generated code unless it was edited). On
  // Auto, a model not timed yet is timed on each device first, and the code then sets the
  // faster one (the editor shows it before it runs).
  resetTraining();
  $("train-progress").textContent = "Loading data and building the model…";
  const timing = !codeEdited && settings.device === "auto" && app.devices.length > 1 &&
    !deviceChoices.has(deviceKey(settings));
  const before = async () => {
    if (timing) return timeDevices();
    noteDeviceChoice(false);
    return { ok: true };
  };
  return runUser("train", () => $("code").value, { before });
}

/** Auto: time this model on each device (pykernel.playground.choose_device), in the Train run. */
async function timeDevices() {
  const key = deviceKey(settings);
  $("train-progress").textContent = "Choosing the device: timing this model on each one…";
  $("device-note").textContent = "Auto: timing this model on the CPU and on WebGPU…";
  const r = await exec(probeCode(settings, { devices: app.devices, adapter: app.adapter }));
  if (!r.ok) {
    renderDeviceNote();
    return r;
  }
  deviceChoices.set(key, JSON.parse(r.value));
  regenerate();   // the code now sets the chosen device
  noteDeviceChoice(true);
  $("train-progress").textContent = "Loading data and building the model…";
  return { ok: true };
}

/** The device this Train uses and why, in app.deviceChoice and the output pane; `timed`:
 * whether this Train timed the model (else Auto reuses an earlier timing). */
function noteDeviceChoice(timed) {
  if (codeEdited) {
    app.deviceChoice = { setting: "code", device: null, rule: "code", ms: null, reason: "the edited code's own" };
    return;
  }
  const s = sanitizeSettings(settings);
  const auto = deviceChoices.get(deviceKey(s)) || null;
  const device = deviceFor(s);
  app.deviceChoice = {
    setting: s.device, device: device ? device.name : null, rule: s.device === "auto" ? auto?.rule ?? "only" : "user",
    ms: auto ? auto.ms : null, reason: deviceNoteText(s), timed,
  };
  print(`Device: ${app.deviceChoice.reason}`, "info").dataset.testid = "device-line";
  if (device && app.state === "running") {
    const where = device.name === "webgpu" ? `WebGPU on ${app.adapter}` : "the CPU";
    $("status-text").textContent = `Training on ${where}…`;
  }
}

const DEVICE_LABELS = { cpu: "the CPU", webgpu: "WebGPU" };
const msText = (ms) => `${ms.toFixed(1)} ms/step`;

/** How the code selects the device for these settings: {name, comment} for generateCode, or
 * null while Auto has not timed this model (the code then says that Train will). */
function deviceFor(s) {
  const setting = sanitizeSettings(s).device;
  if (setting !== "auto") return { name: setting, comment: "chosen in the page" };
  if (app.devices.length === 1) return { name: app.devices[0], comment: "Auto: no WebGPU in this browser" };
  const choice = deviceChoices.get(deviceKey(s));
  if (!choice) return null;
  const { cpu, webgpu } = choice.ms;
  let comment = `Auto: ${choice.reason}`;
  if (choice.rule === "measured") {
    comment = choice.device === "cpu" ? `Auto: ${msText(cpu)} on the CPU vs ${msText(webgpu)} on WebGPU, timed in the page`
      : `Auto: ${msText(webgpu)} on WebGPU vs ${msText(cpu)} on the CPU, timed in the page`;
  } else if (choice.rule === "software") {
    comment = `Auto: ${msText(cpu)} on the CPU; WebGPU is a software adapter here, slower for this model`;
  } else if (choice.rule === "large") {
    comment = "Auto: too large a model for the pure-Python CPU";
  }
  return { name: choice.device, comment };
}

/** The device note under the selector: which device Train uses, and why. */
function deviceNoteText(s) {
  if (!app.devices.length) return "";
  const setting = sanitizeSettings(s).device;
  const choice = deviceChoices.get(deviceKey(s));
  const timed = choice && choice.rule !== "only" ? ` Auto for this model: ${choice.reason}.` : "";
  if (setting !== "auto") return `Training on ${DEVICE_LABELS[setting]} (your choice).${timed}`;
  if (app.devices.length === 1) {
    return `Training on the CPU: this browser has no WebGPU (${app.adapter}); large models train slowly here.`;
  }
  if (!choice) return "Auto: Train first times this model on the CPU and on WebGPU, then trains on the faster one.";
  return `Training on ${DEVICE_LABELS[choice.device]}: ${choice.reason}.`;
}

function renderDeviceNote() {
  const select = $("device");
  select.value = settings.device;
  for (const option of select.options) {
    option.disabled = option.value !== "auto" && app.devices.length > 0 && !app.devices.includes(option.value);
  }
  $("device-note").textContent = deviceNoteText(settings);
}

function runEditor() { return runUser("run", $("code").value); }

function stop() {
  if (!userRun || !app.python.busy) return;
  if (!app.python.interruptible) {   // no shared memory with the worker: only a restart ends the run
    print("■ stopping: this page cannot interrupt Python (it is not cross-origin isolated), so Python restarts", "info");
    restartPython();
    return;
  }
  const run = userRun;
  print("■ stopping…", "info");
  // Training stops after its current batch; other code is interrupted (python.js).
  app.python.stop();
  clearTimeout(stopTimer);
  stopTimer = setTimeout(() => { if (userRun === run) cannotInterrupt(); }, STOP_GRACE_MS);
}

function cannotInterrupt() {
  const el = print("This code does not respond to Stop: Python cannot interrupt time.sleep() or a long loop " +
    "inside C code here. Let it finish, or Restart Python to end it now: a fresh Python loses every variable, " +
    "the model too.", "warning");
  el.dataset.testid = "cannot-interrupt";
  $("status-text").textContent = "Still running: this code does not respond to Stop. Restart Python to end it (variables are lost).";
  $("restart-python").hidden = false;
}

function onGpuLost(message) {
  if (app.gpuLost) return;
  app.gpuLost = message;
  app.model = null;   // its weights were on the GPU
  print(`✕ ${message}: every tensor on it is gone. Restart Python for a new GPU device (variables are lost).`, "error")
    .dataset.testid = "gpu-lost";
  $("restart-python").hidden = false;
  // a run in flight fails on its own (worker.js ends its GPU reads); then the page says lost
  if (app.state === "running") $("status-text").textContent = lostText();
  else if (app.state === "ready") setIdle();
  updateDigitPad();
}

async function resetModel() {
  const r = await runUser("reset", "globals().pop('model', None)\nNone", { quiet: true });
  if (!r) return;
  resetTraining();
  clearOutput();
  app.prediction = null;
  pad.clear();
  showProbs(null);
  $("train-progress").textContent = "Not trained yet.";
  await refreshModel();
}

/** A fresh worker: ends any run (runUser reports it), loses every variable, and opens a new GPU device. */
async function restartPython() {
  $("restart-python").hidden = true;
  clearTimeout(stopTimer);
  app.gpuLost = null;
  app.model = null;
  setState("loading", "Restarting Python…");
  try {
    await app.python.restart("Python was restarted");
    chain = Promise.resolve();
    const setup = await exec(PY_HELPERS);
    if (!setup.ok) throw setup.error;
    app.info = await app.python.ready;
    app.adapter = app.info.adapter;
    setIdle();
    print("Python was restarted: a fresh namespace, without variables or a model.", "info");
  } catch (e) {
    setState("fatal", `Python could not restart: ${e.message || e}`);
  }
  updateDigitPad();
}

// -- builder -----------------------------------------------------------------------------------

function regenerate() {
  generated = generateCode(settings, deviceFor(settings));
  if (!codeEdited) $("code").value = generated.code;
  renderDeviceNote();
  renderPlan();
  updateControls();
}

function renderDataset() {
  const d = settings.dataset;
  for (const b of document.querySelectorAll("#dataset-picker button")) {
    b.setAttribute("aria-checked", String(b.dataset.dataset === d));
    b.tabIndex = b.dataset.dataset === d ? 0 : -1;
  }
  $("mnist-options").hidden = d !== "mnist";
  $("points-options").hidden = d === "mnist";
  $("mnist-train").value = settings.mnist.train;
  $("mnist-test").value = settings.mnist.test;
  $("points-samples").value = settings.points.samples;
  $("points-noise").value = settings.points.noise;
  $("digit-section").hidden = d !== "mnist";
  $("points-section").hidden = d === "mnist";
  $("points-output").hidden = d === "mnist";
  $("points-output").value = settings.pointsOutput;
  // layer types that fit the data
  const types = d === "mnist" ? Object.keys(LAYER_TYPES) : ["Dense", "Dropout"];
  const sel = $("add-layer-type");
  const keep = sel.value;
  sel.innerHTML = types.map((t) => `<option value="${t}">${t}</option>`).join("");
  if (types.includes(keep)) sel.value = keep;
}

function renderTraining() {
  $("optimizer").value = settings.optimizer;
  $("learning-rate").value = settings.learningRate;
  $("batch-size").value = settings.batchSize;
  $("epochs").value = settings.epochs;
}

function optionList(values, selected) {
  return values.map((v) => `<option value="${v}"${v === selected ? " selected" : ""}>${v}</option>`).join("");
}

function layerParamsHTML(l) {
  const num = (field, label, attrs) =>
    `<label>${label}<input type="number" data-field="${field}" value="${l[field]}" ${attrs}></label>`;
  const act = `<select data-field="activation" aria-label="activation">${optionList(ACTIVATIONS, l.activation)}</select>`;
  switch (l.type) {
    case "Dense": return num("units", "", 'min="1" max="4096" step="1" aria-label="units" title="units"') + act;
    case "Conv2D": return num("filters", "", 'min="1" max="512" step="1" aria-label="filters" title="filters"') +
      num("kernel_size", "k", 'min="1" max="11" step="1" aria-label="kernel size" title="kernel size"') + act;
    case "MaxPooling2D": return num("pool_size", "pool", 'min="1" max="8" step="1"');
    case "Dropout": return num("rate", "rate", 'min="0" max="0.95" step="0.05"');
    default: return "";
  }
}

function renderLayers() {
  const list = $("layers");
  for (const el of list.querySelectorAll("li.editable")) el.remove();
  const types = Object.keys(LAYER_TYPES);
  const n = settings.layers.length;
  settings.layers.forEach((l, i) => {
    const li = document.createElement("li");
    li.className = "layer editable";
    li.dataset.index = String(i);
    li.dataset.testid = `layer-${i}`;
    li.innerHTML =
      '<span class="layer-main">' +
      `<select data-field="type" aria-label="layer type">${optionList(types, l.type)}</select>` +
      `${layerParamsHTML(l)}</span>` +
      '<span class="layer-actions">' +
      `<button type="button" data-action="up" title="Move up" aria-label="Move layer up"${i === 0 ? " disabled" : ""}>↑</button>` +
      `<button type="button" data-action="down" title="Move down" aria-label="Move layer down"${i === n - 1 ? " disabled" : ""}>↓</button>` +
      '<button type="button" data-action="remove" title="Remove" aria-label="Remove layer">✕</button></span>' +
      '<span class="layer-note"></span><span class="layer-shape"></span>';
    list.insertBefore(li, $("output-row"));
  });
  renderPlan();
}

function renderPlan() {
  const plan = planModel(sanitizeSettings(settings));
  $("input-shape").textContent = `(None, ${plan.inputShape.join(", ")})`;
  for (const li of $("layers").querySelectorAll("li.editable")) {
    const row = plan.rows[Number(li.dataset.index)];
    if (!row) continue;
    li.classList.toggle("invalid", !row.ok);
    li.querySelector(".layer-shape").textContent = row.ok ? row.shape : "left out";
    const note = li.querySelector(".layer-note");
    note.textContent = row.ok ? "" : `Left out of the code: ${row.note}.`;
  }
  const o = plan.output;
  $("output-desc").textContent = settings.dataset === "mnist" ? `Dense(${o.units}, ${o.activation})` : "";
  $("output-shape").textContent = plan.outputShape;
  $("param-count").textContent = `· ${plan.params.toLocaleString("en-US")} parameters`;
}

function setDataset(dataset) {
  if (!DATASETS[dataset] || dataset === settings.dataset) return;
  settings = { ...settings, dataset, layers: defaultLayers(dataset), ...defaultTraining(dataset) };   // the device stays
  renderDataset();
  renderTraining();
  renderLayers();
  regenerate();
  schedulePointsPreview();
}

function onLayerInput(e) {
  const li = e.target.closest("li.editable");
  const field = e.target.dataset.field;
  if (!li || !field) return;
  const i = Number(li.dataset.index);
  if (field === "type") {
    settings.layers[i] = newLayer(e.target.value);
    renderLayers();
  } else if (field === "activation") {
    settings.layers[i][field] = e.target.value;
  } else {
    settings.layers[i][field] = e.target.value === "" ? e.target.value : Number(e.target.value);
  }
  regenerate();
}

function onLayerAction(e) {
  const button = e.target.closest("button[data-action]");
  if (!button) return;
  const i = Number(button.closest("li.editable").dataset.index);
  const layers = settings.layers;
  if (button.dataset.action === "remove") layers.splice(i, 1);
  else if (button.dataset.action === "up" && i > 0) [layers[i - 1], layers[i]] = [layers[i], layers[i - 1]];
  else if (button.dataset.action === "down" && i < layers.length - 1) [layers[i + 1], layers[i]] = [layers[i], layers[i + 1]];
  renderLayers();
  regenerate();
}

// -- editor ---------------------------------------------------------------------------------------

let escapeTab = false;

function onCodeInput() {
  codeEdited = $("code").value !== generated.code;
  $("code-edited").hidden = !codeEdited;
  updateControls();
}

function insertText(editor, text) {
  // execCommand keeps the browser's undo history; setRangeText where it is unavailable
  if (!document.execCommand || !document.execCommand("insertText", false, text)) {
    editor.setRangeText(text, editor.selectionStart, editor.selectionEnd, "end");
    onCodeInput();
  }
}

function onCodeKey(e) {
  const editor = e.target;
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    if (app.state === "ready") runEditor();
    return;
  }
  if (e.key === "Escape") { escapeTab = true; return; }
  if (e.key === "Tab" && !escapeTab && !e.ctrlKey && !e.altKey && !e.metaKey) {
    e.preventDefault();
    const { value, selectionStart: start, selectionEnd: end } = editor;
    if (e.shiftKey) {   // dedent the current line
      const lineStart = value.lastIndexOf("\n", start - 1) + 1;
      const spaces = /^ {1,4}/.exec(value.slice(lineStart))?.[0].length || 0;
      if (spaces) {
        editor.setSelectionRange(lineStart, lineStart + spaces);
        insertText(editor, "");
        editor.setSelectionRange(Math.max(lineStart, start - spaces), Math.max(lineStart, end - spaces));
      }
    } else if (start !== end && value.slice(start, end).includes("\n")) {   // indent the selected lines
      const lineStart = value.lastIndexOf("\n", start - 1) + 1;
      const block = value.slice(lineStart, end);
      editor.setSelectionRange(lineStart, end);
      insertText(editor, block.replace(/^/gm, "    "));
    } else {
      const column = start - (value.lastIndexOf("\n", start - 1) + 1);
      insertText(editor, " ".repeat(4 - (column % 4)));
    }
    return;
  }
  escapeTab = false;
}

// -- draw a digit -----------------------------------------------------------------------------

const pad = new DigitPad($("digit-canvas"), { onStroke: () => classifyDrawing() });
const plot = new PointsPlot($("points-canvas"));
let pendingClassify = false;

function digitModelReady() {
  const m = app.model;
  if (!m || !m.input || !m.output || !(m.steps > 0)) return false;
  const size = m.input.slice(1).reduce((a, b) => a * (b ?? NaN), 1);
  return size === 784 && m.output.length === 2 && m.output[1] === 10;
}

function updateDigitPad() {
  const ok = digitModelReady();
  pad.enabled = ok;
  $("digit-disabled").hidden = ok;
  $("digit-canvas").setAttribute("aria-disabled", String(!ok));
}

function buildProbRows() {
  $("digit-probs").innerHTML = Array.from({ length: 10 }, (_, d) =>
    `<li data-testid="prob-${d}"><span>${d}</span><span class="bar"><div></div></span><span class="pct">–</span></li>`).join("");
}

function showProbs(probs) {
  const rows = $("digit-probs").children;
  const top = probs ? probs.indexOf(Math.max(...probs)) : -1;
  for (let d = 0; d < 10; d++) {
    const p = probs ? probs[d] : 0;
    rows[d].classList.toggle("top", d === top);
    rows[d].querySelector(".bar > div").style.width = `${(p * 100).toFixed(1)}%`;
    rows[d].querySelector(".pct").textContent = probs ? `${(p * 100).toFixed(1)}%` : "–";
  }
  $("digit-top").innerHTML = probs ? `It's a <span data-testid="digit-top-class">${top}</span> <span class="muted">(${(probs[top] * 100).toFixed(0)}%)</span>` : "&nbsp;";
}

async function classifyDrawing() {
  const pixels = pad.pixels();
  drawPreview($("digit-preview"), pixels);
  if (!pixels || !digitModelReady()) return;
  if (userRun) { pendingClassify = true; return; }
  const shape = [1, ...app.model.input.slice(1)];
  const code = "import pykernel as __pk\n" +
    `model.predict(__pk.reshape(__pk.constant(__digit_pixels, dtype=__pk.float32), (${shape.join(", ")})), verbose=0)[0].tolist()`;
  const r = await runUser("predict", code, { globals: { __digit_pixels: Array.from(pixels) }, quiet: true });
  if (r && r.ok && Array.isArray(r.value)) {
    const probs = r.value.map(Number);
    const top = probs.indexOf(Math.max(...probs));
    app.prediction = { probs, top, sum: probs.reduce((a, b) => a + b, 0) };
    showProbs(probs);
  } else if (r && !r.ok) {
    const el = print(r.error.traceback || r.error.message, "error");
    el.dataset.testid = "error";
  }
  if (pendingClassify) { pendingClassify = false; classifyDrawing(); }
}

// -- wiring ----------------------------------------------------------------------------------------

function numberInput(id, apply) {
  $(id).addEventListener("input", (e) => {
    if (e.target.value === "" || !Number.isFinite(Number(e.target.value))) return;
    apply(Number(e.target.value));
    regenerate();
  });
  // on leaving the field, show the value that the code uses (clamped)
  $(id).addEventListener("change", () => { renderDataset(); renderTraining(); });
}

function wire() {
  $("dataset-picker").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-dataset]");
    if (b) setDataset(b.dataset.dataset);
  });
  $("dataset-picker").addEventListener("keydown", (e) => {   // a radio group: arrows move
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (!step) return;
    e.preventDefault();
    const names = Object.keys(DATASETS);
    const next = names[(names.indexOf(settings.dataset) + step + names.length) % names.length];
    setDataset(next);
    $(`dataset-${next}`).focus();
  });
  numberInput("mnist-train", (v) => { settings.mnist.train = v; settings.mnist = sanitizeSettings(settings).mnist; });
  numberInput("mnist-test", (v) => { settings.mnist.test = v; settings.mnist = sanitizeSettings(settings).mnist; });
  numberInput("points-samples", (v) => { settings.points.samples = v; settings.points = sanitizeSettings(settings).points; schedulePointsPreview(); });
  numberInput("points-noise", (v) => { settings.points.noise = v; settings.points = sanitizeSettings(settings).points; schedulePointsPreview(); });
  numberInput("learning-rate", (v) => { settings.learningRate = v; });
  numberInput("batch-size", (v) => { settings.batchSize = v; });
  numberInput("epochs", (v) => { settings.epochs = v; });
  $("optimizer").addEventListener("change", (e) => { settings.optimizer = e.target.value; regenerate(); });
  $("device").addEventListener("change", (e) => { settings.device = e.target.value; regenerate(); });
  $("points-output").addEventListener("change", (e) => { settings.pointsOutput = e.target.value; regenerate(); });

  $("layers").addEventListener("input", onLayerInput);
  $("layers").addEventListener("click", onLayerAction);
  $("add-layer").addEventListener("click", () => {
    settings.layers.push(newLayer($("add-layer-type").value));
    renderLayers();
    regenerate();
  });
  $("default-layers").addEventListener("click", () => {
    settings.layers = defaultLayers(settings.dataset);
    settings.pointsOutput = "sigmoid";
    renderDataset();
    renderLayers();
    regenerate();
  });

  $("train").addEventListener("click", train);
  $("stop").addEventListener("click", stop);
  $("reset").addEventListener("click", resetModel);
  $("restart-python").addEventListener("click", restartPython);

  $("code").addEventListener("input", onCodeInput);
  $("code").addEventListener("keydown", onCodeKey);
  $("run-code").addEventListener("click", runEditor);
  $("reset-code").addEventListener("click", () => {
    codeEdited = false;
    $("code").value = generated.code;
    onCodeInput();
  });
  $("clear-output").addEventListener("click", clearOutput);
  $("output").addEventListener("scroll", onOutputScroll, { passive: true });

  $("digit-clear").addEventListener("click", () => {
    pad.clear();
    drawPreview($("digit-preview"), null);
    app.prediction = null;
    showProbs(null);
  });
}

async function start() {
  buildProbRows();
  wire();
  renderDataset();
  renderTraining();
  renderLayers();
  regenerate();
  updateControls();
  drawPreview($("digit-preview"), null);

  $("status-text").textContent = "Starting Python…";
  app.python = new PythonWorker({ onMessage });
  let info;
  try {
    info = await app.python.ready;
  } catch (error) {
    const message = String(error.message || error);
    app.readyMs = null;
    $("progress-bar").style.width = "0";
    setState("fatal", /WebGPU is required/.test(message) ? message : `Python could not start: ${message}`);
    return;
  }
  app.info = info;
  app.backend = info.backend;
  app.adapter = info.adapter;
  app.devices = info.backend === "webgpu" ? ["cpu", "webgpu"] : ["cpu"];
  regenerate();
  const setup = await exec(PY_HELPERS);
  app.readyMs = Math.round(performance.now());   // navigation start is time 0
  if (!setup.ok) {
    setState("fatal", `Python could not start: ${setup.error.message}`);
    return;
  }
  $("progress-bar").style.width = "100%";
  $("ready-time").textContent = `· ready in ${app.readyMs.toLocaleString("en-US")} ms`;
  $("ready-time").title = `navigation start to ready: ${app.readyMs} ms; worker: ` +
    Object.entries(info.timings || {}).map(([k, v]) => `${k} ${v} ms`).join(", ") +
    ` · Python ${info.python}, pykernel ${info.pykernel}`;
  setIdle();
  schedulePointsPreview();
}

start();
