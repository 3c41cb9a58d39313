// The playground page: a Keras model builder whose settings become plain Keras code (the
// editor shows it; Train runs exactly that), live training charts from the worker's
// training events, a draw-a-digit pad for MNIST models and a decision-boundary plot for
// the 2-D sets. Python runs in a Web Worker (python.js), so the page stays responsive.
//
// window.pykernelApp is the page's state for tests and the console: state ('loading' |
// 'ready' | 'running' | 'fatal'), readyMs, backend, adapter, python (the PythonWorker),
// history (training events), testAccuracy, lastResult, lastError, prediction, model.
import { PythonWorker } from "./python.js";
import { LineChart } from "./chart.js";
import { DigitPad, drawPreview } from "./digit_pad.js";
import { PointsPlot } from "./points_plot.js";
import {
  ACTIVATIONS, DATASETS, LAYER_TYPES, defaultLayers, defaultSettings, defaultTraining,
  generateCode, newLayer, planModel, sanitizeSettings,
} from "./codegen.js";

const $ = (id) => document.getElementById(id);
const MAX_OUTPUT_NODES = 2000;
const MAX_EVENTS = 5000;
const STOP_GRACE_MS = 10_000;      // Stop: then offer to restart Python
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
  lastRun: null,                   // {kind, ok, stopped, ms}
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
  return app.backend === "webgpu" ? `Ready: WebGPU on ${app.adapter}` : `Ready: NumPy on CPU (${app.adapter})`;
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

function print(text, cls = "stdout") {
  const out = $("output");
  const atBottom = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
  const span = document.createElement("span");
  span.className = cls;
  span.textContent = text.endsWith("\n") ? text : `${text}\n`;
  out.appendChild(span);
  while (out.childNodes.length > MAX_OUTPUT_NODES) out.removeChild(out.firstChild);
  if (atBottom) out.scrollTop = out.scrollHeight;
  return span;
}

function clearOutput() { $("output").textContent = ""; }

function showResult(value) {
  if (value === null || value === undefined) return;
  let text = JSON.stringify(value);
  if (text.length > 2000) text = `${text.slice(0, 2000)} …`;
  print(`Out: ${text}`, "result");
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
    $("train-progress").textContent =
      `Epoch ${data.epoch}/${epochs} · step ${data.step}/${data.steps ?? "?"} · loss ${fmt(data.logs.loss)} · accuracy ${fmt(accuracyOf(data.logs))}`;
    if (data.steps) $("train-bar").style.width = `${Math.min(100, (x / epochs) * 100)}%`;
  } else if (name === "epoch") {
    h.epochs.push(data);
    const { logs } = data;
    charts.loss.push("train", data.epoch, logs.loss);
    charts.acc.push("train", data.epoch, accuracyOf(logs));
    charts.loss.push("val", data.epoch, logs.val_loss);
    charts.acc.push("val", data.epoch, accuracyOf(logs, "val_"));
    const val = logs.val_loss !== undefined ? ` · val accuracy ${fmt(accuracyOf(logs, "val_"))}` : "";
    $("train-progress").textContent =
      `Epoch ${data.epoch}/${data.epochs} done · loss ${fmt(logs.loss)} · accuracy ${fmt(accuracyOf(logs))}${val}`;
    $("train-bar").style.width = `${Math.min(100, (data.epoch / (data.epochs || 1)) * 100)}%`;
  } else if (name === "train_end") {
    h.end = data;
    const n = h.epochs.length;
    $("train-progress").textContent = data.stopped
      ? `Training stopped early after ${n} epoch${n === 1 ? "" : "s"}.`
      : `Trained ${n} epoch${n === 1 ? "" : "s"} · loss ${fmt(data.logs.loss)} · accuracy ${fmt(accuracyOf(data.logs))}`;
  } else if (name === "evaluate") {
    h.evaluate = data;
    app.testAccuracy = accuracyOf(data.logs);
    app.testLoss = data.logs.loss ?? null;
    const el = $("test-accuracy");
    el.textContent = app.testAccuracy !== null
      ? `Test accuracy ${pct(app.testAccuracy)}` + (app.testLoss !== null ? ` · loss ${fmt(app.testLoss, 3)}` : "")
      : `Test loss ${fmt(app.testLoss)}`;
    el.hidden = false;
  }
}

function onMessage(m) {
  switch (m.type) {
    case "progress": onProgress(m); break;
    case "stdout": print(m.text, "stdout"); break;
    case "stderr": print(m.text, "stderr"); break;
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

/** Queue a run: resolves {ok, value} or {ok: false, error}; never rejects. */
function exec(code, globals) {
  app.pending += 1;
  const run = chain.then(() => app.python.run(code, globals)).then(
    (value) => ({ ok: true, value }),
    (error) => ({ ok: false, error }),
  ).finally(() => { app.pending -= 1; });
  chain = run.then(() => {});
  return run;
}

/** A run the user asked for (Train, Run, Reset, a digit): the page shows it as running. */
async function runUser(kind, code, { globals, quiet = false } = {}) {
  if (userRun || app.state !== "ready") return null;
  userRun = { kind, id: ++runSeq };
  const t0 = performance.now();
  app.stopped = false;
  if (!quiet) {
    clearOutput();
    print(kind === "train" ? "▶ Training (the code in the editor)…" : "▶ Running…", "info");
  }
  setState("running", readyText());
  const result = await exec(code, globals);
  clearTimeout(stopTimer);
  $("restart-python").hidden = true;
  const ms = Math.round(performance.now() - t0);
  app.runs += 1;
  if (result.ok) {
    app.lastResult = result.value;
    app.lastError = null;
    if (!quiet) {
      showResult(result.value);
      print(`✓ done in ${(ms / 1000).toFixed(1)} s`, "info");
    }
  } else if (result.error.interrupted || /\bRunStopped: stopped from the page$/.test(result.error.message || "")) {
    app.stopped = true;
    app.lastError = null;
    print("■ stopped: the run was interrupted; the model keeps what it had learned so far", "stopped");
    if (kind === "train" || app.history.begin) {
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
  }
  app.lastRun = { kind, ok: result.ok, stopped: app.stopped, ms };
  userRun = null;
  if (app.state === "running") setState("ready", readyText());
  if (!quiet) await refreshModel();
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
  // Train runs exactly the code in the editor (the generated code unless it was edited).
  resetTraining();
  $("train-progress").textContent = "Loading data and building the model…";
  return runUser("train", $("code").value);
}

function runEditor() { return runUser("run", $("code").value); }

function stop() {
  if (!userRun || !app.python.busy) return;
  const run = userRun;
  print("■ stopping…", "info");
  // Training stops after its current batch; other code is interrupted (python.js).
  app.python.stop();
  clearTimeout(stopTimer);
  stopTimer = setTimeout(() => { if (userRun === run) $("restart-python").hidden = false; }, STOP_GRACE_MS);
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

async function restartPython() {
  $("restart-python").hidden = true;
  setState("loading", "Restarting Python…");
  try {
    await app.python.restart("stopped: Python was restarted; variables are lost");
    await app.python.run(PY_HELPERS);
    chain = Promise.resolve();
    userRun = null;
    app.model = null;
    setState("ready", readyText());
    print("Python was restarted: a fresh namespace (the model is gone).", "info");
  } catch (e) {
    setState("fatal", String(e.message || e));
  }
}

// -- builder -----------------------------------------------------------------------------------

function regenerate() {
  generated = generateCode(settings);
  if (!codeEdited) $("code").value = generated.code;
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
  settings = { ...settings, dataset, layers: defaultLayers(dataset), ...defaultTraining(dataset) };
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
  setState("ready", readyText());
  schedulePointsPreview();
}

start();
