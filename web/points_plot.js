// The 2-D datasets as a picture: the points (class 1 orange, class 0 blue) over the
// model's prediction for each cell of a grid (its decision boundary), TF-Playground style.
//
//   plot.setPoints(trainXY, trainLabels, testXY, testLabels);
//   plot.setField(probs, n, limit);   // n x n probabilities of class 1, rows top to bottom
//   plot.requestDraw();

const COLORS = { one: [245, 147, 34], zero: [8, 119, 189] };

export class PointsPlot {
  constructor(canvas, { limit = 6 } = {}) {
    this.canvas = canvas;
    this.limit = limit;
    this.train = { xy: [], y: [] };
    this.test = { xy: [], y: [] };
    this.field = null;
    this.frame = 0;
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => this.requestDraw()).observe(canvas);
  }

  setPoints(trainXY, trainY, testXY = [], testY = []) {
    this.train = { xy: trainXY || [], y: trainY || [] };
    this.test = { xy: testXY || [], y: testY || [] };
    this.requestDraw();
  }

  setField(probs, n, limit) {
    this.field = probs ? { probs, n, limit } : null;
    this.requestDraw();
  }

  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  draw() {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const size = canvas.clientWidth || 240;
    if (canvas.width !== Math.round(size * dpr)) {
      canvas.width = Math.round(size * dpr);
      canvas.height = Math.round(size * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, size, size);
    const lim = this.field ? this.field.limit : this.limit;
    const sx = (x) => ((x + lim) / (2 * lim)) * size;
    const sy = (y) => ((lim - y) / (2 * lim)) * size;

    if (this.field) {
      const { probs, n } = this.field;
      const off = document.createElement("canvas");
      off.width = n;
      off.height = n;
      const octx = off.getContext("2d");
      const image = octx.createImageData(n, n);
      for (let i = 0; i < n * n; i++) {
        const p = Number.isFinite(probs[i]) ? Math.min(1, Math.max(0, probs[i])) : 0.5;   // NaN: undecided
        const a = Math.abs(p - 0.5) * 2;        // confidence
        const c = p >= 0.5 ? COLORS.one : COLORS.zero;
        for (let k = 0; k < 3; k++) image.data[4 * i + k] = Math.round(255 + (c[k] - 255) * a * 0.55);
        image.data[4 * i + 3] = 255;
      }
      octx.putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(off, 0, 0, size, size);
    }

    ctx.strokeStyle = "rgba(0,0,0,0.15)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(sx(0), 0); ctx.lineTo(sx(0), size);
    ctx.moveTo(0, sy(0)); ctx.lineTo(size, sy(0));
    ctx.stroke();

    const dots = ({ xy, y }, hollow) => {
      for (let i = 0; i < xy.length; i++) {
        const c = y[i] >= 0.5 ? COLORS.one : COLORS.zero;
        ctx.beginPath();
        ctx.arc(sx(xy[i][0]), sy(xy[i][1]), 3, 0, 2 * Math.PI);
        if (hollow) {
          ctx.strokeStyle = `rgb(${c.join(",")})`;
          ctx.lineWidth = 1.5;
          ctx.stroke();
        } else {
          ctx.fillStyle = `rgb(${c.join(",")})`;
          ctx.fill();
          ctx.strokeStyle = "#fff";
          ctx.lineWidth = 0.8;
          ctx.stroke();
        }
      }
    };
    dots(this.train, false);
    dots(this.test, true);
  }
}
