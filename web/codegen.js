// The playground's settings -> the plain Keras code that the editor shows and Train runs.
//
//   const settings = defaultSettings("mnist");
//   const { code, plan } = generateCode(settings);
//
// The layer list is the user's; the input, any Reshape a Conv2D needs, any Flatten a Dense
// needs and the output layer are handled here, so the code is valid Keras whatever the
// list holds. A layer that cannot go where it stands (a Conv2D after Flatten, a pooling
// window larger than its input, a Conv2D on 2-D points) stays in the code as a comment,
// and `plan.rows[i].note` says why, for the builder to show.

export const DATASETS = {
  mnist: { label: "MNIST digits", kind: "images", classes: 10 },
  circle: { label: "Circle", kind: "points", classes: 2 },
  xor: { label: "XOR", kind: "points", classes: 2 },
  gaussian: { label: "Gaussian", kind: "points", classes: 2 },
  spiral: { label: "Spiral", kind: "points", classes: 2 },
};

export const LAYER_TYPES = {
  Dense: { units: 32, activation: "relu" },
  Conv2D: { filters: 8, kernel_size: 3, activation: "relu" },
  MaxPooling2D: { pool_size: 2 },
  Flatten: {},
  Dropout: { rate: 0.2 },
};

export const ACTIVATIONS = ["relu", "tanh", "sigmoid", "linear", "elu", "selu", "gelu", "swish", "softmax"];

export const OPTIMIZERS = {
  adam: "Adam",
  sgd: "SGD",
  rmsprop: "RMSprop",
  adagrad: "Adagrad",
};

export const MNIST_LIMITS = { train: 8000, test: 2000 };
export const POINT_LIMITS = { samples: [20, 2000], noise: [0, 0.5] };

export function newLayer(type) {
  if (!LAYER_TYPES[type]) throw new Error(`unknown layer type ${type}`);
  return { type, ...LAYER_TYPES[type] };
}

export function defaultLayers(dataset) {
  if (dataset === "mnist") {
    return [newLayer("Flatten"), { type: "Dense", units: 128, activation: "relu" }];
  }
  return [{ type: "Dense", units: 8, activation: "tanh" }, { type: "Dense", units: 8, activation: "tanh" }];
}

export function defaultTraining(dataset) {
  if (dataset === "mnist") return { optimizer: "adam", learningRate: 0.001, batchSize: 32, epochs: 5 };
  return { optimizer: "adam", learningRate: 0.03, batchSize: 16, epochs: 20 };
}

export function defaultSettings(dataset = "mnist") {
  return {
    dataset,
    mnist: { train: 2000, test: 500 },
    points: { samples: 500, noise: 0.1 },
    layers: defaultLayers(dataset),
    pointsOutput: "sigmoid",            // 2-D sets: Dense(1, sigmoid) or Dense(2, softmax)
    device: "auto",                     // a key of DEVICES
    ...defaultTraining(dataset),
  };
}

// -- helpers --------------------------------------------------------------------------

const clampInt = (value, lo, hi, fallback) => {
  const n = Math.round(Number(value));
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : fallback;
};

const clampNum = (value, lo, hi, fallback) => {
  const n = Number(value);
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : fallback;
};

// A Python float literal: 0.001 -> "0.001", 1 -> "1.0", 1e-5 -> "1e-05".
export function pyFloat(x) {
  if (!Number.isFinite(x)) return "0.0";
  if (Number.isInteger(x)) return `${x}.0`;
  const s = String(x);
  const m = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
  if (m) return `${m[1]}e${m[2]}${m[3].padStart(2, "0")}`;
  return s;
}

const shapeText = (shape) => `(None, ${shape.join(", ")})`;
const prod = (shape) => shape.reduce((a, b) => a * b, 1);
const py = (shape) => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`);

/** Clean a layer's numbers into the ranges Keras accepts (in place copies). */
export function sanitizeLayer(layer) {
  const l = { ...layer };
  const act = (a) => (ACTIVATIONS.includes(a) ? a : "linear");
  switch (l.type) {
    case "Dense": l.units = clampInt(l.units, 1, 4096, 32); l.activation = act(l.activation); break;
    case "Conv2D":
      l.filters = clampInt(l.filters, 1, 512, 8);
      l.kernel_size = clampInt(l.kernel_size, 1, 11, 3);
      l.activation = act(l.activation);
      break;
    case "MaxPooling2D": l.pool_size = clampInt(l.pool_size, 1, 8, 2); break;
    case "Dropout": l.rate = clampNum(l.rate, 0, 0.95, 0.2); break;
    case "Flatten": break;
    default: throw new Error(`unknown layer type ${l.type}`);
  }
  return l;
}

function layerCode(l) {
  switch (l.type) {
    case "Dense": return `keras.layers.Dense(${l.units}, activation="${l.activation}")`;
    case "Conv2D": return `keras.layers.Conv2D(${l.filters}, kernel_size=${l.kernel_size}, activation="${l.activation}")`;
    case "MaxPooling2D": return `keras.layers.MaxPooling2D(pool_size=${l.pool_size})`;
    case "Flatten": return "keras.layers.Flatten()";
    case "Dropout": return `keras.layers.Dropout(${pyFloat(l.rate)})`;
    default: throw new Error(`unknown layer type ${l.type}`);
  }
}

/**
 * Walk the layer list with the shapes Keras would see. Returns
 *   { lines: [python list items], rows: [{ok, note, shape, params}], outputShape, params,
 *     output: {units, activation, loss} }
 */
export function planModel(settings) {
  const images = settings.dataset === "mnist";
  const lines = [];
  const rows = [];
  let shape = images ? [28, 28] : [2];
  let params = 0;
  const inputShape = shape.slice();
  lines.push(`keras.Input(shape=${py(inputShape)}),`);

  const flattenIfNeeded = (why) => {
    if (shape.length > 1) {
      lines.push(`keras.layers.Flatten(),  # added: ${why}`);
      shape = [prod(shape)];
    }
  };

  for (const raw of settings.layers) {
    const l = sanitizeLayer(raw);
    const row = { ok: true, note: "", shape: null, params: 0 };
    const skip = (note) => {
      row.ok = false;
      row.note = note;
      lines.push(`# ${layerCode(l)},  # left out: ${note}`);
    };
    if (l.type === "Conv2D" || l.type === "MaxPooling2D") {
      const window = l.type === "Conv2D" ? l.kernel_size : l.pool_size;
      if (!images) skip(`${l.type} needs images; these are 2-D points`);
      else if (shape.length === 1) skip(`${l.type} needs an image; move it above Flatten and Dense`);
      else {
        if (shape.length === 2) {
          lines.push(`keras.layers.Reshape((${shape[0]}, ${shape[1]}, 1)),  # added: ${l.type} needs a channel axis`);
          shape = [shape[0], shape[1], 1];
        }
        if (shape[0] < window || shape[1] < window) {
          skip(`its ${window}x${window} window is larger than its ${shape[0]}x${shape[1]} input`);
        } else if (l.type === "Conv2D") {
          row.params = window * window * shape[2] * l.filters + l.filters;
          shape = [shape[0] - window + 1, shape[1] - window + 1, l.filters];
          lines.push(`${layerCode(l)},`);
        } else {
          shape = [Math.floor(shape[0] / window), Math.floor(shape[1] / window), shape[2]];
          lines.push(`${layerCode(l)},`);
        }
      }
    } else if (l.type === "Dense") {
      flattenIfNeeded("Dense needs a flat input");
      row.params = shape[0] * l.units + l.units;
      shape = [l.units];
      lines.push(`${layerCode(l)},`);
    } else if (l.type === "Flatten") {
      shape = [prod(shape)];
      lines.push(`${layerCode(l)},`);
    } else {
      lines.push(`${layerCode(l)},`);
    }
    row.shape = row.ok ? shapeText(shape) : null;
    params += row.params;
    rows.push(row);
  }

  flattenIfNeeded("the output layer needs a flat input");
  let output;
  if (images) output = { units: 10, activation: "softmax", loss: "sparse_categorical_crossentropy" };
  else if (settings.pointsOutput === "softmax") output = { units: 2, activation: "softmax", loss: "sparse_categorical_crossentropy" };
  else output = { units: 1, activation: "sigmoid", loss: "binary_crossentropy" };
  const outParams = shape[0] * output.units + output.units;
  params += outParams;
  lines.push(`keras.layers.Dense(${output.units}, activation="${output.activation}"),  # output`);
  return { lines, rows, params, output, outputParams: outParams, outputShape: shapeText([output.units]), inputShape };
}

/** The settings, cleaned (numbers in range), for code generation and the builder. */
export function sanitizeSettings(s) {
  const t = { ...s };
  t.dataset = DATASETS[t.dataset] ? t.dataset : "mnist";
  t.mnist = {
    train: clampInt(s.mnist?.train, 1, MNIST_LIMITS.train, 2000),
    test: clampInt(s.mnist?.test, 1, MNIST_LIMITS.test, 500),
  };
  t.points = {
    samples: clampInt(s.points?.samples, POINT_LIMITS.samples[0], POINT_LIMITS.samples[1], 500),
    noise: clampNum(s.points?.noise, POINT_LIMITS.noise[0], POINT_LIMITS.noise[1], 0.1),
  };
  t.optimizer = OPTIMIZERS[t.optimizer] ? t.optimizer : "adam";
  t.learningRate = clampNum(s.learningRate, 1e-6, 10, 0.001);
  t.batchSize = clampInt(s.batchSize, 1, 4096, 32);
  t.epochs = clampInt(s.epochs, 1, 1000, 5);
  t.device = DEVICES[s.device] ? s.device : "auto";
  t.layers = (s.layers || []).map(sanitizeLayer);
  return t;
}

// The device the code trains on: "auto" is resolved by the page (it times the model on each
// device: pykernel/playground.py choose_device) and handed to generateCode as
// {name: "cpu" | "webgpu", comment}; until then the code says that Train will choose.
export const DEVICES = { auto: "Auto (the faster, timed)", webgpu: "WebGPU", cpu: "CPU" };

function deviceLines(s, device) {
  if (device && DEVICES[device.name] && device.name !== "auto") {
    const comment = device.comment ? `  # ${device.comment}` : "";
    return [`tf.config.set_device("${device.name}")${comment}`, ""];
  }
  return ["# Device: Auto. Train times this model on the CPU and on WebGPU and sets the faster one here.", ""];
}

function dataLines(s) {
  if (s.dataset === "mnist") {
    const { train, test } = s.mnist;
    return [
      `# MNIST digits: ${train} training and ${test} test images, pixels scaled to 0..1`,
      "(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()",
      `x_train, y_train = x_train[:${train}] / 255.0, y_train[:${train}]`,
      `x_test, y_test = x_test[:${test}] / 255.0, y_test[:${test}]`,
    ];
  }
  const { samples, noise } = s.points;
  return [
    `# ${DATASETS[s.dataset].label}: ${samples} 2-D points in two classes, half for testing`,
    "(x_train, y_train), (x_test, y_test) = keras.datasets.playground.load_data(",
    `    "${s.dataset}", n_samples=${samples}, noise=${pyFloat(noise)}, test_split=0.5)`,
  ];
}

function modelLines(s, plan) {
  const lr = pyFloat(s.learningRate);
  const optimizer = s.optimizer === "sgd"
    ? `keras.optimizers.SGD(learning_rate=${lr}, momentum=0.9)`
    : `keras.optimizers.${OPTIMIZERS[s.optimizer]}(learning_rate=${lr})`;
  return [
    "model = keras.Sequential([",
    ...plan.lines.map((line) => `    ${line}`),
    "])",
    "",
    "model.compile(",
    `    optimizer=${optimizer},`,
    `    loss="${plan.output.loss}",`,
    '    metrics=["accuracy"],',
    ")",
  ];
}

/** The code for these settings; `device` ({name, comment}) is where it trains (see DEVICES). */
export function generateCode(rawSettings, device = null) {
  const s = sanitizeSettings(rawSettings);
  const plan = planModel(s);
  const out = [
    "import pykernel as tf", "from pykernel import keras", "",
    ...deviceLines(s, device ?? { name: s.device }),
    ...dataLines(s), "",
    ...modelLines(s, plan), "",
    `model.fit(x_train, y_train, batch_size=${s.batchSize}, epochs=${s.epochs},`,
    "          validation_data=(x_test, y_test), verbose=2)",
    "",
    `test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=${s.batchSize}, verbose=0)`,
    'print(f"test accuracy: {test_accuracy:.4f}")',
    "",
  ];
  return { code: out.join("\n"), plan, settings: s };
}

/** The same data and model as generateCode's, timed on each device by
 * pykernel.playground.choose_device; the run's value is its choice, as JSON. */
export function probeCode(rawSettings, { devices, adapter }) {
  const s = sanitizeSettings(rawSettings);
  const plan = planModel(s);
  const indent = (lines) => lines.map((line) => (line ? `    ${line}` : line));
  return [
    "import pykernel as tf", "from pykernel import keras", "import pykernel.playground", "",
    "def __pg_probe_data():", ...indent(dataLines(s)), "    return x_train, y_train", "",
    "def __pg_probe_model():", ...indent(modelLines(s, plan)), "    return model", "",
    `pykernel.playground.choose_device_for_page(__pg_probe_model, __pg_probe_data, ${s.batchSize}, ${plan.params},`,
    `    devices=${JSON.stringify(devices)}, adapter=${JSON.stringify(adapter ?? "")})`,
    "",
  ].join("\n");
}

/** What decides a timed choice: the model and the batch, not the epochs or the data's size. */
export function deviceKey(rawSettings) {
  const s = sanitizeSettings(rawSettings);
  const plan = planModel(s);
  return JSON.stringify([s.dataset === "mnist" ? "images" : "points", plan.lines, s.optimizer, s.batchSize]);
}
