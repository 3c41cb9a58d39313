// The TF.js side of bench/vs_tfjs.py: the same models and timed blocks as the pykernel side
// (the Python in vs_tfjs.py), on TF.js's webgpu or wasm backend. The script drives it:
//
//   await tfjsBench.use("webgpu")                      // select (and initialise) a backend
//   await tfjsBench.measure("tiny", spec, 2.0, 60)      // {n, seconds, first_step_s, estimate_s}
//   await tfjsBench.first("mlp", spec)                  // a new model's first step, in a fresh tab
//   await tfjsBench.info()                              // adapter, backend flags, wasm threads
//
// spec: {batch, input: [dims], classes} (classes 0: one sigmoid output, binary crossentropy),
// or {size} for a matmul. A train step is model.trainOnBatch, which reads the loss back
// (await loss.data()) every step, as pykernel's train_on_batch does (float(loss)).
"use strict";

tf.wasm.setWasmPaths("/bench-node/tfjs-backend-wasm/dist/");

const states = new Map();   // "model/backend" -> {block, n, first_step_s, estimate_s, skipped?}

function randomUniform(count) {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.random() * 2 - 1;
  return values;
}

function randomLabels(count, classes) {
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = Math.floor(Math.random() * classes);
  return values;
}

function buildModel(name) {
  const model = tf.sequential();
  if (name === "tiny") {
    model.add(tf.layers.dense({ inputShape: [2], units: 8, activation: "tanh" }));
    model.add(tf.layers.dense({ units: 8, activation: "tanh" }));
    model.add(tf.layers.dense({ units: 1, activation: "sigmoid" }));
  } else if (name === "mlp") {
    model.add(tf.layers.dense({ inputShape: [784], units: 128, activation: "relu" }));
    model.add(tf.layers.dense({ units: 10, activation: "softmax" }));
  } else if (name === "cnn") {
    model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: "relu" }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: "relu" }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 10, activation: "softmax" }));
  } else {
    throw new Error(`unknown model ${name}`);
  }
  const loss = name === "tiny" ? "binaryCrossentropy" : "sparseCategoricalCrossentropy";
  model.compile({ optimizer: tf.train.adam(0.001), loss });
  return model;
}

function trainData(spec) {
  const features = spec.input.reduce((a, b) => a * b, 1);
  const x = tf.tensor(randomUniform(spec.batch * features), [spec.batch, ...spec.input]);
  // TF.js wants sparse labels as [batch, 1]; the binary target is [batch, 1] too
  const y = tf.tensor(randomLabels(spec.batch, spec.classes || 2), [spec.batch, 1]);
  return { x, y };
}

function trainBlock(model, x, y) {
  return async (n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await model.trainOnBatch(x, y);
    return (performance.now() - t0) / 1000;
  };
}

function matmulBlock(size) {
  const a = tf.tensor(randomUniform(size * size), [size, size]);
  const b = tf.tensor(randomUniform(size * size), [size, size]);
  return async (n) => {
    const t0 = performance.now();
    let c = null;
    for (let i = 0; i < n; i++) {
      if (c) c.dispose();
      c = tf.matMul(a, b);
    }
    // one element read syncs the block, as pykernel's float(c[0, 0])
    const corner = c.slice([0, 0], [1, 1]);
    await corner.data();
    corner.dispose();
    c.dispose();
    return (performance.now() - t0) / 1000;
  };
}

window.tfjsBench = {
  async use(backend) {
    const t0 = performance.now();
    if (!(await tf.setBackend(backend))) throw new Error(`TF.js backend ${backend} did not initialise`);
    await tf.ready();
    return { backend: tf.getBackend(), init_s: (performance.now() - t0) / 1000 };
  },

  // Same protocol as the pykernel side: the first block of 1 step (compiles), a warm-up
  // block of 2, an estimate block of 2; then each call times one block of n steps, n chosen
  // once so that a block lasts about budgetS.
  async measure(name, spec, budgetS, maxStepS) {
    const backend = tf.getBackend();
    const key = `${name}/${backend}`;
    let entry = states.get(key);
    if (!entry) {
      let block;
      if (name.startsWith("matmul")) block = matmulBlock(spec.size);
      else {
        const { x, y } = trainData(spec);
        block = trainBlock(buildModel(name), x, y);
      }
      entry = { block };
      entry.first_step_s = await block(1);
      if (entry.first_step_s > maxStepS) entry.skipped = `first step took ${entry.first_step_s.toFixed(1)} s`;
      else {
        await block(2);
        entry.estimate_s = (await block(2)) / 2;
        if (entry.estimate_s > maxStepS) entry.skipped = `a step takes ${entry.estimate_s.toFixed(1)} s`;
        entry.n = Math.max(3, Math.min(5000, Math.ceil(budgetS / entry.estimate_s)));
      }
      states.set(key, entry);
    }
    const result = { backend, first_step_s: entry.first_step_s, estimate_s: entry.estimate_s ?? null };
    if (entry.skipped) return { ...result, skipped: entry.skipped };
    return { ...result, n: entry.n, seconds: await entry.block(entry.n) };
  },

  // A new model's first train step: built, compiled, one trainOnBatch with its loss read.
  // The data is made (and uploaded) before the clock starts, as on the pykernel side.
  async first(name, spec) {
    const { x, y } = trainData(spec);
    await x.data();
    const t0 = performance.now();
    const model = buildModel(name);
    await model.trainOnBatch(x, y);
    return { seconds: (performance.now() - t0) / 1000, backend: tf.getBackend() };
  },

  async info() {
    const info = { tfjs: tf.version.tfjs, userAgent: navigator.userAgent, crossOriginIsolated: self.crossOriginIsolated };
    if (navigator.gpu) {
      const adapter = await navigator.gpu.requestAdapter();
      if (adapter) {
        const a = adapter.info || {};
        info.adapter = { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description,
                         isFallbackAdapter: adapter.isFallbackAdapter ?? a.isFallbackAdapter ?? null };
      }
    }
    info.wasm = {
      simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
      multithread: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"),
    };
    if (tf.findBackend("wasm")) info.wasm.threads = tf.wasm.getThreadsCount();
    return info;
  },
};
