// A small line chart on a canvas, for live training curves.
//
//   const chart = new LineChart(canvas, { title: "Loss", series: [
//     { key: "batch", label: "train (batch)", color: "#9ab", width: 1 },
//     { key: "val", label: "validation", color: "#e67", dots: true, dash: [5, 3] } ] });
//   chart.push("batch", x, y);     // cheap: only schedules a redraw on the next frame
//
// Redraws are coalesced to one per animation frame, so a burst of training events costs
// one draw. The canvas follows its CSS size and the device pixel ratio.

const FONT = "11px system-ui, -apple-system, 'Segoe UI', sans-serif";

function niceStep(span, target) {
  const raw = span / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

function formatTick(v, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(4, digits));
}

export class LineChart {
  constructor(canvas, { title = "", series = [], yMin = null, yMax = null, xMin = 0, xLabel = "" } = {}) {
    this.canvas = canvas;
    this.title = title;
    this.series = series.map((s) => ({ width: 2, dots: false, dash: null, ...s, points: [] }));
    this.fixedYMin = yMin;
    this.fixedYMax = yMax;
    this.xMin = xMin;
    this.xMaxHint = 1;
    this.xLabel = xLabel;
    this.frame = 0;
    this.draws = 0;
    if (typeof ResizeObserver !== "undefined") {
      this.resizeObserver = new ResizeObserver(() => this.requestDraw());
      this.resizeObserver.observe(canvas);
    }
    this.requestDraw();
  }

  seriesByKey(key) {
    const s = this.series.find((t) => t.key === key);
    if (!s) throw new Error(`no series ${key}`);
    return s;
  }

  push(key, x, y) {
    if (y === null || y === undefined || !Number.isFinite(y)) return;
    this.seriesByKey(key).points.push([x, y]);
    this.requestDraw();
  }

  count(key) { return this.seriesByKey(key).points.length; }

  values(key) { return this.seriesByKey(key).points.map((p) => p[1]); }

  /** The x axis reaches at least `x` (e.g. the number of epochs), so it does not jump. */
  setXMax(x) { this.xMaxHint = Math.max(1, x); this.requestDraw(); }

  clear() {
    for (const s of this.series) s.points = [];
    this.xMaxHint = 1;
    this.requestDraw();
  }

  requestDraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  bounds() {
    let xMax = this.xMaxHint;
    let yMin = Infinity;
    let yMax = -Infinity;
    for (const s of this.series) {
      for (const [x, y] of s.points) {
        if (x > xMax) xMax = x;
        if (y < yMin) yMin = y;
        if (y > yMax) yMax = y;
      }
    }
    if (!Number.isFinite(yMin)) { yMin = 0; yMax = 1; }
    if (this.fixedYMin !== null) yMin = Math.min(this.fixedYMin, yMin);
    if (this.fixedYMax !== null) yMax = Math.max(this.fixedYMax, yMax);
    if (this.fixedYMin === null && yMin > 0 && yMin < yMax * 0.5) yMin = 0;
    if (yMax - yMin < 1e-9) { yMax += 0.5; yMin -= 0.5; }
    const margin = (yMax - yMin) * 0.06;
    if (this.fixedYMax === null) yMax += margin;
    if (this.fixedYMin === null && yMin !== 0) yMin -= margin;
    return { xMin: this.xMin, xMax, yMin, yMax };
  }

  draw() {
    this.draws += 1;
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const cssW = canvas.clientWidth || 300;
    const cssH = canvas.clientHeight || 150;
    if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
      canvas.width = Math.round(cssW * dpr);
      canvas.height = Math.round(cssH * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    const style = getComputedStyle(canvas);
    const ink = style.getPropertyValue("--chart-ink").trim() || "#334";
    const grid = style.getPropertyValue("--chart-grid").trim() || "#e4e7ec";

    const pad = { left: 42, right: 12, top: 24, bottom: this.xLabel ? 34 : 22 };
    const w = Math.max(10, cssW - pad.left - pad.right);
    const h = Math.max(10, cssH - pad.top - pad.bottom);
    const { xMin, xMax, yMin, yMax } = this.bounds();
    const sx = (x) => pad.left + ((x - xMin) / (xMax - xMin || 1)) * w;
    const sy = (y) => pad.top + (1 - (y - yMin) / (yMax - yMin || 1)) * h;

    ctx.font = FONT;
    ctx.lineWidth = 1;
    // grid and ticks
    const yStep = niceStep(yMax - yMin, Math.max(2, Math.floor(h / 30)));
    ctx.strokeStyle = grid;
    ctx.fillStyle = ink;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (let v = Math.ceil(yMin / yStep) * yStep; v <= yMax + 1e-9; v += yStep) {
      const y = Math.round(sy(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(pad.left, y); ctx.lineTo(pad.left + w, y); ctx.stroke();
      ctx.fillText(formatTick(v, yStep), pad.left - 5, y);
    }
    const xStep = Math.max(1, niceStep(xMax - xMin, Math.max(2, Math.floor(w / 60))));
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let v = Math.ceil(xMin / xStep) * xStep; v <= xMax + 1e-9; v += xStep) {
      const x = Math.round(sx(v)) + 0.5;
      ctx.beginPath(); ctx.moveTo(x, pad.top); ctx.lineTo(x, pad.top + h); ctx.stroke();
      ctx.fillText(String(Math.round(v)), x, pad.top + h + 5);
    }
    if (this.xLabel) {
      ctx.fillStyle = style.getPropertyValue("--chart-muted").trim() || "#8a93a6";
      ctx.fillText(this.xLabel, pad.left + w / 2, pad.top + h + 19);
    }

    // series
    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.left, pad.top - 2, w + 2, h + 4);
    ctx.clip();
    for (const s of this.series) {
      if (!s.points.length) continue;
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineWidth = s.width;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      s.points.forEach(([x, y], i) => (i ? ctx.lineTo(sx(x), sy(y)) : ctx.moveTo(sx(x), sy(y))));
      ctx.stroke();
      ctx.setLineDash([]);
      if (s.dots || s.points.length === 1) {
        for (const [x, y] of s.points) {
          ctx.beginPath(); ctx.arc(sx(x), sy(y), 2.5, 0, 2 * Math.PI); ctx.fill();
        }
      }
    }
    ctx.restore();

    // title and legend
    ctx.textBaseline = "alphabetic";
    ctx.textAlign = "left";
    ctx.fillStyle = ink;
    ctx.font = `600 ${FONT}`;
    ctx.fillText(this.title, pad.left, 14);
    const titleEnd = pad.left + ctx.measureText(this.title).width + 12;
    ctx.font = FONT;
    const legendWidth = (short) => this.series.reduce(
      (sum, s) => sum + ctx.measureText(short ? s.short || s.label : s.label).width + 28, 0);
    const short = pad.left + w - legendWidth(false) < titleEnd;
    let lx = pad.left + w;
    ctx.textAlign = "right";
    for (const s of [...this.series].reverse()) {
      const label = short ? s.short || s.label : s.label;
      if (lx - ctx.measureText(label).width - 18 < titleEnd) break;
      const tw = ctx.measureText(label).width;
      ctx.fillStyle = ink;
      ctx.fillText(label, lx, 14);
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath(); ctx.moveTo(lx - tw - 18, 10); ctx.lineTo(lx - tw - 4, 10); ctx.stroke();
      ctx.setLineDash([]);
      lx -= tw + 28;
    }
  }
}
