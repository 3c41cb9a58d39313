// The page's handle on Python: starts web/worker.js, runs code there one request at a
// time, forwards its output and training events, and stops a run on request.
//
//   const python = new PythonWorker({ onMessage: (m) => ... });   // every worker message
//   const info = await python.ready;          // {backend, adapter, python, pykernel, timings}
//   const value = await python.run("1 + 1");  // the last expression, as JSON (NaN, Infinity kept)
//   const { value, repr } = await python.runWithRepr("[1.0, float('nan')]");   // repr "[1.0, nan]"
//   python.stop();                            // KeyboardInterrupt in the running code
//   python.restart();                         // a fresh worker: the running code ends, variables are lost
//
// A failed run rejects with a PythonError (message, traceback, interrupted, restarted).
// The worker batches printed output ({type: "output", chunks}); onMessage gets each chunk
// as its own message: {type: "stdout" | "stderr", text} or {type: "omitted", lines}.

export class PythonError extends Error {
  constructor({ message, traceback, interrupted, restarted }) {
    super(message);
    this.name = "PythonError";
    this.traceback = traceback;
    this.interrupted = Boolean(interrupted);
    this.restarted = Boolean(restarted);   // ended by restart(): Python's state is gone
  }
}

export class PythonWorker {
  static SIGINT_GRACE_MS = 1500;

  constructor({ onMessage = () => {}, workerURL = new URL("./worker.js", import.meta.url) } = {}) {
    this.onMessage = onMessage;
    this.workerURL = workerURL;
    this.nextId = 1;
    this.pending = new Map();
    this.start();
  }

  start() {
    this.worker = new Worker(this.workerURL, { type: "module" });
    // Where the page is cross-origin isolated (server.py makes it so), Stop writes into
    // shared memory (see worker.js): the run ends at pykernel's next safe point, or by
    // SIGINT, and Python's state (the model, its weights) survives. Elsewhere Stop
    // restarts the worker.
    this.sharedFlags = self.crossOriginIsolated ? new SharedArrayBuffer(12) : null;
    this.interruptBuffer = this.sharedFlags ? new Int32Array(this.sharedFlags) : null;
    this.ready = new Promise((resolve, reject) => { this.readyCallbacks = { resolve, reject }; });
    this.ready.catch(() => {});
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      const message = `the Python worker failed: ${event.message || "could not load worker.js"}`;
      this.receive({ type: "fatal", message });
    };
    this.worker.postMessage({ type: "init", sharedFlags: this.sharedFlags });
  }

  receive(message) {
    if (message.type === "output") {
      for (const chunk of message.chunks) this.onMessage(chunk);
      return;
    }
    if (message.type === "ready") this.readyCallbacks.resolve(message);
    if (message.type === "fatal") {
      this.readyCallbacks.reject(new Error(message.message));
      for (const { reject } of this.pending.values()) reject(new PythonError({ message: message.message }));
      this.pending.clear();
    }
    if (message.type === "result" || message.type === "error") {
      const request = this.pending.get(message.id);
      this.pending.delete(message.id);
      // Pyodide raises KeyboardInterrupt for Stop, except inside a JSPI wait (time.sleep,
      // a GPU read), where the interrupt surfaces as some other error: Stop caused it all the same.
      const interrupted = Boolean(message.interrupted || this.stopRequested);
      if (!this.busy) this.stopRequested = false;
      if (request) {
        if (message.type === "result") request.resolve(request.withRepr ? { value: message.value, repr: message.repr } : message.value);
        else request.reject(new PythonError({ ...message, interrupted }));
      }
    }
    this.onMessage(message);
  }

  get busy() { return this.pending.size > 0; }

  /** Whether stop() keeps Python's state (shared memory), rather than restarting the worker. */
  get interruptible() { return this.interruptBuffer !== null; }

  run(code, globals = undefined) { return this.request(code, globals, false); }

  runWithRepr(code, globals = undefined) { return this.request(code, globals, true); }

  request(code, globals, withRepr) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, withRepr });
      this.worker.postMessage({ type: "run", id, code, globals, repr: withRepr });
    });
  }

  stop() {
    if (!this.busy) return;
    this.stopRequested = true;
    if (this.interruptBuffer) {
      // First the stop flag, checked at pykernel's safe points (after each Keras batch,
      // before each GPU read): the run ends in the user's own stack. SIGINT only for code
      // that reaches no safe point (a plain Python loop), after a grace period, and never
      // while a GPU read is pending: a KeyboardInterrupt landing in Pyodide's event-loop
      // glue around that wait can leave the run unsettled.
      Atomics.store(this.interruptBuffer, 1, 1);
      const id = this.pending.keys().next().value;   // the running request: the worker runs them in order
      const since = performance.now();
      clearInterval(this.sigintTimer);
      this.sigintTimer = setInterval(() => {
        if (!this.pending.has(id)) { clearInterval(this.sigintTimer); return; }
        if (performance.now() - since < PythonWorker.SIGINT_GRACE_MS) return;
        if (Atomics.load(this.interruptBuffer, 2) !== 0) return;   // a GPU read is pending
        Atomics.store(this.interruptBuffer, 0, 2);
        clearInterval(this.sigintTimer);
      }, 100);
      return;
    }
    this.restart("stopped: the worker was restarted (this page is not cross-origin isolated)");
  }

  restart(reason = "the Python worker was restarted") {
    this.worker.terminate();
    clearInterval(this.sigintTimer);
    this.stopRequested = false;
    for (const { reject } of this.pending.values()) reject(new PythonError({ message: reason, interrupted: true, restarted: true }));
    this.pending.clear();
    this.start();
    return this.ready;
  }
}
