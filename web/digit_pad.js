// Draw-a-digit: a canvas to draw on with mouse, pen or touch (pointer events), and the
// MNIST-style preprocessing of the drawing into 28x28 values in 0..1.
//
//   const pad = new DigitPad(canvas, { onStroke: () => classify() });
//   const pixels = pad.pixels();   // Float32Array(784), or null when nothing is drawn
//
// Preprocessing follows how MNIST was made: crop to the ink's bounding box, scale it to
// fit 20x20 keeping its aspect ratio (area averaging), then place it in a 28x28 image so
// that its centre of mass is at the centre, and scale the values so the darkest is 1.

export class DigitPad {
  constructor(canvas, { onStroke = () => {}, lineWidth = 20 } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.onStroke = onStroke;
    this.lineWidth = lineWidth;
    this.enabled = true;
    this.drawing = false;
    this.last = null;
    this.inked = false;
    this.clear();
    canvas.style.touchAction = "none";   // no scrolling or zooming while drawing on touch screens
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    canvas.addEventListener("lostpointercapture", (e) => this.up(e));
  }

  point(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [(e.clientX - rect.left) * (this.canvas.width / rect.width),
      (e.clientY - rect.top) * (this.canvas.height / rect.height)];
  }

  down(e) {
    if (!this.enabled || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.drawing = true;
    this.last = this.point(e);
    this.segment(this.last, this.last);
  }

  move(e) {
    if (!this.drawing) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      this.segment(this.last, p);
      this.last = p;
    }
  }

  up() {
    if (!this.drawing) return;
    this.drawing = false;
    this.last = null;
    this.onStroke();
  }

  segment(a, b) {
    const ctx = this.ctx;
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = this.lineWidth;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0] + (a[0] === b[0] && a[1] === b[1] ? 0.01 : 0), b[1]);
    ctx.stroke();
    this.inked = true;
  }

  clear() {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
  }

  /** The drawing as MNIST sees digits: Float32Array(28*28) in 0..1, or null if blank. */
  pixels() {
    if (!this.inked) return null;
    const { width, height } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, width, height).data;
    const ink = new Float32Array(width * height);
    for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i] / 255;
    return preprocess(ink, width, height);
  }
}

/** ink: Float32Array(width*height), 0 = paper, 1 = ink. Returns Float32Array(784) or null. */
export function preprocess(ink, width, height, threshold = 0.05) {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = 20 / Math.max(bw, bh);
  const tw = Math.max(1, Math.min(20, Math.round(bw * scale)));
  const th = Math.max(1, Math.min(20, Math.round(bh * scale)));

  // area-average the box into tw x th
  const sum = new Float32Array(tw * th);
  const count = new Float32Array(tw * th);
  for (let y = y0; y <= y1; y++) {
    const ty = Math.min(th - 1, Math.floor(((y - y0) * th) / bh));
    for (let x = x0; x <= x1; x++) {
      const tx = Math.min(tw - 1, Math.floor(((x - x0) * tw) / bw));
      sum[ty * tw + tx] += ink[y * width + x];
      count[ty * tw + tx] += 1;
    }
  }
  const small = new Float32Array(tw * th);
  let mass = 0, mx = 0, my = 0;
  for (let i = 0; i < small.length; i++) {
    const v = count[i] ? sum[i] / count[i] : 0;
    small[i] = v;
    mass += v;
    mx += v * ((i % tw) + 0.5);
    my += v * (Math.floor(i / tw) + 0.5);
  }
  if (mass <= 0) return null;
  // put the centre of mass at the centre of the 28x28 image
  const left = Math.round(14 - mx / mass);
  const top = Math.round(14 - my / mass);
  const out = new Float32Array(28 * 28);
  let peak = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const ox = x + left;
      const oy = y + top;
      if (ox < 0 || ox >= 28 || oy < 0 || oy >= 28) continue;
      const v = small[y * tw + x];
      out[oy * 28 + ox] = v;
      if (v > peak) peak = v;
    }
  }
  if (peak > 0) for (let i = 0; i < out.length; i++) out[i] = Math.min(1, out[i] / peak);
  return out;
}

/** Draw 28x28 values (0..1) on a small canvas, white on black like the pad. */
export function drawPreview(canvas, pixels) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round((pixels ? pixels[i] : 0) * 255);
    image.data[4 * i] = v;
    image.data[4 * i + 1] = v;
    image.data[4 * i + 2] = v;
    image.data[4 * i + 3] = 255;
  }
  if (canvas.width !== 28) { canvas.width = 28; canvas.height = 28; }
  ctx.putImageData(image, 0, 0);
}
