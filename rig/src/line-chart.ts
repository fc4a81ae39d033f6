/** Small dependency-free SVG line charts (log or linear y): the bench's fan-out and rollout charts. */
import { esc, svgDocument } from "./svg.js";

export interface LineSeries {
  name: string;
  color: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
  /** Draw a dot on each point. */
  dots?: boolean;
}

export interface LineMarker {
  x: number;
  label: string;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  markers?: LineMarker[];
  /** Horizontal reference lines, e.g. a latency limit. */
  hlines?: { y: number; label: string }[];
  logY?: boolean;
  width?: number;
  height?: number;
}

const fmt = (v: number) =>
  Math.abs(v) >= 1e6
    ? `${+(v / 1e6).toFixed(1)}M`
    : Math.abs(v) >= 1e3
      ? `${+(v / 1e3).toFixed(1)}k`
      : `${+v.toFixed(v < 10 ? 1 : 0)}`;

function niceTicks(min: number, max: number, count = 6): number[] {
  const span = max - min || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => span / s <= count) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + 1e-9; v += step) ticks.push(+v.toFixed(10));
  return ticks;
}

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 760;
  const H = o.height ?? 360;
  const m = { l: 64, r: 150, t: 36, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = o.series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x).concat((o.markers ?? []).map((mk) => mk.x));
  const ys = all.map((p) => p.y).concat((o.hlines ?? []).map((h) => h.y));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(1, ...xs);
  const positive = ys.filter((y) => y > 0);
  const yMinLog = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(1, ...positive))));
  const yMaxLog = 10 ** Math.ceil(Math.log10(Math.max(10, ...positive)));
  const yMaxLin = Math.max(1, ...ys) * 1.1;
  const X = (x: number) => m.l + ((x - xMin) / (xMax - xMin)) * pw;
  const Y = o.logY
    ? (y: number) =>
        m.t + ph - ((Math.log10(Math.max(yMinLog, y)) - Math.log10(yMinLog)) / Math.log10(yMaxLog / yMinLog)) * ph
    : (y: number) => m.t + ph - (y / yMaxLin) * ph;
  const out: string[] = [];
  // Axes and grid.
  const yTicks = o.logY
    ? Array.from({ length: Math.round(Math.log10(yMaxLog / yMinLog)) + 1 }, (_, i) => yMinLog * 10 ** i)
    : niceTicks(0, yMaxLin);
  for (const t of yTicks) {
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(t)}" y2="${Y(t)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.l - 6}" y="${Y(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(xMin, xMax)) {
    out.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${m.t}" y2="${m.t + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${X(t)}" y="${m.t + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(
    `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}${o.logY ? " (log)" : ""}</text>`,
  );
  for (const h of o.hlines ?? []) {
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(h.y)}" y2="${Y(h.y)}" stroke="#c00" stroke-dasharray="6 3"/>`);
    out.push(`<text x="${m.l + pw - 4}" y="${Y(h.y) - 4}" text-anchor="end" fill="#c00">${esc(h.label)}</text>`);
  }
  (o.markers ?? []).forEach((mk, i) => {
    out.push(
      `<line x1="${X(mk.x)}" x2="${X(mk.x)}" y1="${m.t}" y2="${m.t + ph}" stroke="#999" stroke-dasharray="3 3"/>`,
    );
    out.push(
      `<text x="${X(mk.x) + 3}" y="${m.t + 12 + (i % 4) * 12}" fill="#555" font-size="10">${esc(mk.label)}</text>`,
    );
  });
  o.series.forEach((s, i) => {
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length > 0) {
      const d = pts.map((p, k) => `${k === 0 ? "M" : "L"}${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(" ");
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`,
      );
      if (s.dots) for (const p of pts) out.push(`<circle cx="${X(p.x)}" cy="${Y(p.y)}" r="3" fill="${s.color}"/>`);
    }
    const ly = m.t + 10 + i * 16;
    out.push(
      `<line x1="${m.l + pw + 12}" x2="${m.l + pw + 32}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>`,
    );
    out.push(`<text x="${m.l + pw + 36}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  return svgDocument({ width: W, height: H, title: o.title, fontSize: 11 }, out);
}
