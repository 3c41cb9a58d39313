// The JS half of pykernel's browser Device (pykernel/backends/webgpu/browser.py).
// Python hands over one Int32Array of commands (and one byte blob of upload data) per
// flush; this encodes them into a single command buffer and submits it.
const OP_CREATE_BUFFER = 1, OP_RELEASE_BUFFER = 2, OP_WRITE_BUFFER = 3, OP_DISPATCH = 4,
  OP_CREATE_UNIFORM = 5, OP_RELEASE_UNIFORMS = 6, OP_COPY_BUFFER = 7, OP_RUN_PROGRAM = 8,
  OP_RELEASE_PROGRAM = 9;
const PROGRAM_DISPATCH = 1, PROGRAM_COPY = 2;

export class GpuRuntime {
  static async create() {
    if (!("gpu" in navigator)) throw new Error("navigator.gpu is missing: this browser has no WebGPU");
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) throw new Error("navigator.gpu.requestAdapter() found no GPU adapter");
    const want = (name, cap) => Math.min(adapter.limits[name], cap);
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBuffersPerShaderStage: want("maxStorageBuffersPerShaderStage", 10),
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
      },
    });
    const info = adapter.info || {};
    const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" ");
    return new GpuRuntime(device, name || "WebGPU adapter");
  }

  constructor(device, adapterName) {
    this.device = device;
    this.adapterName = adapterName;
    this.limits = device.limits;
    this.buffers = new Map();
    this.uniforms = new Map();
    this.pipelines = [];
    this.bindGroups = new Map();
    this.programs = new Map();  // prepared programs (pykernel/backends/webgpu/program.py)
    this.inFlight = [];         // one promise per submit, resolved when the GPU has done it
    this.errors = [];
    this.compiling = new Map();      // pipeline id -> promise of its compile, while it runs
    this.precompiled = new Map();    // entry point + source -> compile promise (precompile)
    this.compileMs = [];
    this.lastCompileEnd = 0;
    this.deferred = Promise.resolve();   // the submits waiting for compiles, in order
    this.deferredCount = 0;
    this.lost = null;
    device.lost.then((info) => {
      this.lost = `the GPU device was lost (${info.reason || "unknown reason"}: ${info.message}); ` +
        "every tensor on it is gone: reload the page to start again";
    });
    device.addEventListener("uncapturederror", (e) => this.errors.push(e.error.message));
  }

  // Compiles run asynchronously (createComputePipelineAsync), so several are issued ahead of
  // use (pykernel/backends/webgpu/warmup.py) while Python goes on; a submit that uses one
  // still compiling is encoded once it has (submits stay in order, see submit), and a
  // failed compile is reported by takeError. compileMs[id]: the compile's own time in ms,
  // from its start or the previous compile's end, whichever is later (the GPU process
  // compiles one at a time); undefined until it ends.
  createPipeline(id, code, entryPoint) {
    const key = `${entryPoint}\n${code}`;
    const compile = this.precompiled.get(key) || this.compile(code, entryPoint);
    this.precompiled.delete(key);   // taken: the cache holds each only until Python asks
    const done = compile.then(
      ({ pipeline, ms }) => {
        this.pipelines[id] = pipeline;
        this.compileMs[id] = ms;
      },
      (error) => {
        const name = code.trimStart().split("\n", 1)[0].slice(0, 100);
        this.errors.push(`a WebGPU pipeline failed to compile (pipeline ${id}, ${name}): ${error.message}`);
      });
    this.compiling.set(id, done);
    done.finally(() => this.compiling.delete(id));
  }

  compile(code, entryPoint) {
    const module = this.device.createShaderModule({ code });
    const started = performance.now();
    return this.device.createComputePipelineAsync({ layout: "auto", compute: { module, entryPoint } }).then(
      (pipeline) => {
        const now = performance.now();
        const ms = now - Math.max(started, this.lastCompileEnd);
        this.lastCompileEnd = now;
        return { pipeline, ms };
      });
  }

  // The warm-up's shaders (pykernel/backends/webgpu/warmup.py writes them beside the wheel),
  // compiled before Python runs: web/worker.js calls this once the GPU is open, while Pyodide
  // loads, and createPipeline takes a compile from here when Python asks for the same source.
  // A file made for other limits would not match what Python generates here: skipped.
  // Returns how many compiles it started.
  precompile({ limits = {}, shaders = [] }) {
    for (const [name, value] of Object.entries(limits)) {
      if (this.limits[name] !== value) return 0;
    }
    for (const { code, entryPoint } of shaders) {
      const key = `${entryPoint}\n${code}`;
      if (this.precompiled.has(key)) continue;
      const compile = this.compile(code, entryPoint);
      compile.catch(() => {});   // reported when Python asks for it (createPipeline)
      this.precompiled.set(key, compile);
    }
    return this.precompiled.size;
  }

  // A recorded step: its dispatches (own parameter buffers; bind groups built at first run,
  // once its pipelines exist) and copies, replayed by one OP_RUN_PROGRAM word.
  createProgram(id, words, blob) {
    const bytes = new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
    const entries = [], uniforms = new Map(), owned = [];
    for (let i = 0; i < words.length;) {
      if (words[i] === PROGRAM_COPY) {
        entries.push({ copy: true, source: words[i + 1], destination: words[i + 2], offset: words[i + 3], size: words[i + 4] });
        i += 5;
        continue;
      }
      const [pipeline, start, length, n] = [words[i + 1], words[i + 2], words[i + 3], words[i + 4]];
      const handles = Array.from(words.subarray(i + 5, i + 5 + n));
      const [gx, gy, gz] = words.subarray(i + 5 + n, i + 8 + n);
      let uniform = null;
      if (length) {
        const key = bytes.subarray(start, start + length).join(",");
        uniform = uniforms.get(key);
        if (!uniform) {
          uniform = this.device.createBuffer({ size: length, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
          new Uint8Array(uniform.getMappedRange()).set(bytes.subarray(start, start + length));
          uniform.unmap();
          uniforms.set(key, uniform);
          owned.push(uniform);
        }
      }
      entries.push({ copy: false, pipeline, handles, uniform, gx, gy, gz, group: null });
      i += 8 + n;
    }
    this.programs.set(id, { entries, owned });
  }

  encodeProgram(id, encoder, pass) {
    const program = this.programs.get(id);
    if (!program) throw new Error(`pykernel GPU runtime: no program ${id}`);
    for (const entry of program.entries) {
      if (entry.copy) {
        if (pass) { pass.end(); pass = null; }
        encoder.copyBufferToBuffer(this.buffers.get(entry.source), 0, this.buffers.get(entry.destination), entry.offset, entry.size);
        continue;
      }
      const pipeline = this.pipelines[entry.pipeline];
      if (!entry.group) {
        const resources = entry.uniform ? [{ binding: 0, resource: { buffer: entry.uniform } }] : [];
        entry.handles.forEach((h, k) => resources.push({ binding: k + 1, resource: { buffer: this.buffers.get(h) } }));
        entry.group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: resources });
      }
      if (!pass) pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, entry.group);
      pass.dispatchWorkgroups(entry.gx, entry.gy, entry.gz);
    }
    return pass;
  }

  // Resolves once at most `keep` submits are still running on the GPU: Python waits on it so
  // that it never queues far ahead of the GPU (a read would then wait for all of it).
  async settle(keep) {
    await this.deferred;
    while (this.inFlight.length > keep) await this.inFlight.shift();
  }

  takeError() {
    if (this.lost) return this.lost;
    return this.errors.length ? this.errors.splice(0).join("\n") : "";
  }

  // Encodes and submits at once, unless a pipeline it uses is still compiling or an earlier
  // submit still waits: then it waits too, behind them (queue order is submit order), and
  // `read` and `settle` wait for it. An error there is kept for takeError.
  submit(words, blob) {
    const used = this.compiling.size ? this.pipelinesUsed(words) : null;
    const compiles = Array.from(this.compiling.entries()).filter(([id]) => !used || used.has(id)).map(([, p]) => p);
    if (!compiles.length && !this.deferredCount) {
      try { this.encodeAndSubmit(words, blob); } catch (error) { this.errors.push(String(error && error.message || error)); }
      return;
    }
    const [w, b] = [words.slice(), blob.slice()];
    this.deferredCount += 1;
    this.deferred = this.deferred.then(() => Promise.all(compiles))
      .then(() => this.encodeAndSubmit(w, b))
      .catch((error) => { this.errors.push(String(error && error.message || error)); })
      .finally(() => { this.deferredCount -= 1; });
  }

  // The pipeline ids a command list dispatches (directly or through programs); null when it
  // holds a command this scan does not know (then the submit waits for every compile).
  pipelinesUsed(words) {
    const used = new Set();
    const sizes = { [OP_CREATE_BUFFER]: 3, [OP_RELEASE_BUFFER]: 2, [OP_WRITE_BUFFER]: 5, [OP_CREATE_UNIFORM]: 4,
      [OP_RELEASE_UNIFORMS]: 1, [OP_COPY_BUFFER]: 6, [OP_RELEASE_PROGRAM]: 2 };
    for (let i = 0; i < words.length;) {
      const op = words[i];
      if (op === OP_DISPATCH) { used.add(words[i + 1]); i += 7 + words[i + 3]; }
      else if (op === OP_RUN_PROGRAM) {
        const program = this.programs.get(words[i + 1]);
        if (!program) return null;
        for (const entry of program.entries) if (!entry.copy) used.add(entry.pipeline);
        i += 2;
      } else if (sizes[op]) i += sizes[op];
      else return null;
    }
    return used;
  }

  encodeAndSubmit(words, blob) {
    const bytes = new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
    const encoder = this.device.createCommandEncoder();
    let pass = null;
    const retired = [];  // buffers the encoded work may still use: destroyed after submit
    const endPass = () => { if (pass) { pass.end(); pass = null; } };
    for (let i = 0; i < words.length;) {
      const op = words[i];
      if (op === OP_CREATE_BUFFER) {
        this.buffers.set(words[i + 1], this.device.createBuffer({
          size: Math.max(4, words[i + 2]),
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        }));
        i += 3;
      } else if (op === OP_RELEASE_BUFFER) {
        const handle = words[i + 1];
        for (const key of this.bindGroups.keys()) if (key.split(",").slice(2).includes(String(handle))) this.bindGroups.delete(key);
        const buffer = this.buffers.get(handle);
        this.buffers.delete(handle);
        if (buffer) queueMicrotask(() => buffer.destroy());
        i += 2;
      } else if (op === OP_WRITE_BUFFER) {
        // through a staging copy inside this encoder, so the write lands in command order
        const [handle, offset, start, length] = [words[i + 1], words[i + 2], words[i + 3], words[i + 4]];
        const padded = (length + 3) & ~3;
        const staging = this.device.createBuffer({ size: Math.max(4, padded), usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
        new Uint8Array(staging.getMappedRange()).set(bytes.subarray(start, start + length));
        staging.unmap();
        endPass();
        encoder.copyBufferToBuffer(staging, 0, this.buffers.get(handle), offset, padded);
        retired.push(staging);
        i += 5;
      } else if (op === OP_CREATE_UNIFORM) {
        const [id, start, length] = [words[i + 1], words[i + 2], words[i + 3]];
        const buffer = this.device.createBuffer({ size: length, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
        new Uint8Array(buffer.getMappedRange()).set(bytes.subarray(start, start + length));
        buffer.unmap();
        this.uniforms.set(id, buffer);
        i += 4;
      } else if (op === OP_RELEASE_UNIFORMS) {
        retired.push(...this.uniforms.values());
        this.uniforms.clear();
        this.bindGroups.clear();
        i += 1;
      } else if (op === OP_COPY_BUFFER) {
        const [source, destination, sourceOffset, destinationOffset, size] = words.subarray(i + 1, i + 6);
        endPass();
        encoder.copyBufferToBuffer(this.buffers.get(source), sourceOffset, this.buffers.get(destination), destinationOffset, size);
        i += 6;
      } else if (op === OP_RUN_PROGRAM) {
        pass = this.encodeProgram(words[i + 1], encoder, pass);
        i += 2;
      } else if (op === OP_RELEASE_PROGRAM) {
        const program = this.programs.get(words[i + 1]);
        this.programs.delete(words[i + 1]);
        if (program) retired.push(...program.owned);
        i += 2;
      } else if (op === OP_DISPATCH) {
        const pipelineId = words[i + 1], uniformId = words[i + 2], n = words[i + 3];
        const handles = Array.from(words.subarray(i + 4, i + 4 + n));
        const [gx, gy, gz] = words.subarray(i + 4 + n, i + 7 + n);
        const key = `${pipelineId},${uniformId},${handles.join(",")}`;
        let group = this.bindGroups.get(key);
        const pipeline = this.pipelines[pipelineId];
        if (!group) {
          const entries = uniformId ? [{ binding: 0, resource: { buffer: this.uniforms.get(uniformId) } }] : [];
          handles.forEach((h, k) => entries.push({ binding: k + 1, resource: { buffer: this.buffers.get(h) } }));
          group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
          if (this.bindGroups.size > 8192) this.bindGroups.clear();
          this.bindGroups.set(key, group);
        }
        if (!pass) pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(gx, gy, gz);
        i += 7 + n;
      } else {
        throw new Error(`pykernel GPU runtime: unknown command ${op} at word ${i}`);
      }
    }
    endPass();
    this.device.queue.submit([encoder.finish()]);
    this.inFlight.push(this.device.queue.onSubmittedWorkDone());
    for (const buffer of retired) buffer.destroy();
  }

  async read(handle, nbytes) {
    await this.deferred;   // submits still waiting for their pipelines come first
    const size = Math.max(4, (nbytes + 3) & ~3);
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.buffers.get(handle), 0, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    const before = this.inFlight.length;
    await staging.mapAsync(GPUMapMode.READ);
    this.inFlight.splice(0, before);   // done too: they were submitted before this read
    const out = new Uint8Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return out;
  }
}
