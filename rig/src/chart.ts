/**
 * The cluster log as a standalone SVG chart (no dependencies): one bar per pod (starting, ready,
 * unready, terminating; a thin line below while it is in the ingress's endpoints; marks for
 * preStop, SIGTERM and SIGKILL), Redis outages, operations as shaded bands, one row per client
 * (message sends as ticks, disconnected time in red), and sampled series (e.g. bots connected).
 */
import type { ClusterEvent } from "./cluster-log.js";
import { esc, svgDocument } from "./svg.js";

export interface Series {
  label: string;
  /** [epoch ms, value] */
  points: [number, number][];
  max: number;
}

export interface ClientTrack {
  name: string;
  /** Epoch ms of each message sent. */
  sends: number[];
  /** [from, to] epoch ms of each time without a connection. */
  down: [number, number][];
  /** Shown after the name, e.g. "3 reconnects, 412 ms down". */
  note?: string;
}

export interface ChartInput {
  title: string;
  events: ClusterEvent[];
  clients?: ClientTrack[];
  series?: Series[];
  from?: number;
  to?: number;
}

const COLORS = {
  starting: "#b8c2cc",
  ready: "#3c9a5f",
  unready: "#e3b341",
  terminating: "#e07b39",
  routed: "#1f6f3f",
  killed: "#c62828",
  send: "#2f6fde",
  down: "#d93025",
  redisDown: "#d93025",
  band: "#f1f4f8",
  axis: "#8a949e",
  text: "#1f2933",
};
const W = 1280;
const LABEL = 250;
const RIGHT = 30;
const ROW = 24;
const BAR = 12;

type PodState = "starting" | "ready" | "unready" | "terminating";

export function renderChart(input: ChartInput): string {
  const events = [...input.events].sort((a, b) => a.t - b.t);
  const clientTimes = (input.clients ?? []).flatMap((c) => [...c.sends, ...c.down.flat()]);
  const seriesTimes = (input.series ?? []).flatMap((s) => s.points.map((p) => p[0]));
  const all = [...events.map((e) => e.t), ...clientTimes, ...seriesTimes];
  const from = input.from ?? Math.min(...all);
  const to = input.to ?? Math.max(...all, from + 1000);
  const x = (t: number) => LABEL + ((Math.min(Math.max(t, from), to) - from) / (to - from)) * (W - LABEL - RIGHT);
  let y = 56;

  // Pods, in order of creation, and only those alive in the window.
  const podNames = [...new Set(events.filter((e) => e.pod && e.type === "pod-created").map((e) => e.pod as string))];
  const pods = podNames
    .map((name) => ({ name, events: events.filter((e) => e.pod === name) }))
    .filter((p) => (p.events.find((e) => e.type === "pod-exited")?.t ?? to) >= from);

  const rows: string[] = [];
  const section = (title: string) => {
    rows.push(`<text x="12" y="${y + 14}" font-weight="600">${esc(title)}</text>`);
    y += ROW;
  };

  section("pods");
  for (const pod of pods) {
    rows.push(`<text x="24" y="${y + 15}">${esc(pod.name)}</text>`);
    let state = "starting" as PodState;
    let since = pod.events[0]?.t ?? from;
    const segment = (end: number) => {
      if (end <= from || since >= to) return;
      rows.push(
        `<rect x="${x(since).toFixed(1)}" y="${y + 4}" width="${Math.max(1, x(end) - x(since)).toFixed(1)}" height="${BAR}" fill="${COLORS[state]}"><title>${esc(`${pod.name}: ${state}`)}</title></rect>`,
      );
    };
    let routedSince: number | undefined;
    let end = to;
    for (const e of pod.events) {
      const next: PodState | undefined =
        e.type === "pod-ready" && state !== "terminating"
          ? "ready"
          : e.type === "pod-unready" && state !== "terminating"
            ? "unready"
            : e.type === "pod-terminating"
              ? "terminating"
              : undefined;
      if (next && next !== state) {
        segment(e.t);
        state = next;
        since = e.t;
      }
      if (e.type === "endpoint-added") routedSince = e.t;
      if (e.type === "endpoint-removed" && routedSince !== undefined) {
        rows.push(routedLine(x(routedSince), x(e.t), y));
        routedSince = undefined;
      }
      const mark = marker(e, x(e.t), y);
      if (mark) rows.push(mark);
      if (e.type === "pod-exited") {
        end = e.t;
        rows.push(
          `<text x="${(x(e.t) + 4).toFixed(1)}" y="${y + 14}" font-size="10" fill="${COLORS.axis}">exit ${esc(String(e.detail?.code ?? ""))}</text>`,
        );
      }
    }
    segment(end);
    if (routedSince !== undefined) rows.push(routedLine(x(routedSince), x(end), y));
    y += ROW;
  }

  // Redis outages.
  const outages: [number, number][] = [];
  let down: number | undefined;
  for (const e of events) {
    if (e.type === "redis-stopped") down = e.t;
    if (e.type === "redis-started" && down !== undefined) {
      outages.push([down, e.t]);
      down = undefined;
    }
  }
  if (down !== undefined) outages.push([down, to]);
  const visible = outages.filter(([a, b]) => b >= from && a <= to);
  if (visible.length > 0) {
    rows.push(`<text x="24" y="${y + 15}">redis</text>`);
    for (const [a, b] of visible) rows.push(bar(x(a), x(b), y, COLORS.redisDown, `redis down ${b - a} ms`));
    y += ROW;
  }

  if (input.clients?.length) {
    section("clients (ticks: messages sent; red: disconnected)");
    for (const c of input.clients) {
      rows.push(
        `<text x="24" y="${y + 15}">${esc(c.name)}${c.note ? ` <tspan fill="${COLORS.axis}" font-size="10">${esc(c.note)}</tspan>` : ""}</text>`,
      );
      rows.push(`<line x1="${LABEL}" x2="${W - RIGHT}" y1="${y + 10}" y2="${y + 10}" stroke="#e4e7eb"/>`);
      for (const [a, b] of c.down) {
        if (b >= from && a <= to) rows.push(bar(x(a), x(b), y, COLORS.down, `disconnected ${b - a} ms`));
      }
      for (const t of c.sends) {
        if (t < from || t > to) continue;
        rows.push(
          `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${y + 5}" y2="${y + 15}" stroke="${COLORS.send}" stroke-width="1.5"/>`,
        );
      }
      y += ROW;
    }
  }

  for (const s of input.series ?? []) {
    const h = 70;
    y += 6;
    rows.push(`<text x="12" y="${y + 14}" font-weight="600">${esc(s.label)}</text>`);
    rows.push(
      `<text x="${LABEL - 8}" y="${y + 10}" text-anchor="end" font-size="10" fill="${COLORS.axis}">${s.max}</text>`,
    );
    rows.push(`<text x="${LABEL - 8}" y="${y + h}" text-anchor="end" font-size="10" fill="${COLORS.axis}">0</text>`);
    rows.push(`<rect x="${LABEL}" y="${y}" width="${W - LABEL - RIGHT}" height="${h}" fill="none" stroke="#e4e7eb"/>`);
    const pts = s.points
      .filter(([t]) => t >= from && t <= to)
      .map(([t, v]) => `${x(t).toFixed(1)},${(y + h - (v / Math.max(1, s.max)) * h).toFixed(1)}`);
    if (pts.length)
      rows.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${COLORS.send}" stroke-width="1.5"/>`);
    const min = Math.min(...s.points.filter(([t]) => t >= from && t <= to).map(([, v]) => v));
    if (Number.isFinite(min)) {
      rows.push(
        `<text x="${W - RIGHT}" y="${y + h + 12}" text-anchor="end" font-size="10" fill="${COLORS.axis}">lowest: ${min}</text>`,
      );
    }
    y += h + 18;
  }

  // Operations as shaded bands behind everything, with their names on top.
  const bands: string[] = [];
  const bandLabels: string[] = [];
  for (const start of events.filter((e) => e.type === "operation-started")) {
    const op = String(start.detail?.op ?? "");
    const done = events.find((e) => e.type === "operation-finished" && e.t >= start.t && e.detail?.op === op);
    const [a, b] = [x(start.t), x(done?.t ?? to)];
    if (b <= LABEL || a >= W - RIGHT) continue;
    bands.push(
      `<rect x="${a.toFixed(1)}" y="40" width="${Math.max(1, b - a).toFixed(1)}" height="${y - 40}" fill="${COLORS.band}"/>`,
    );
    bandLabels.push(`<text x="${(a + 3).toFixed(1)}" y="50" font-size="10" fill="${COLORS.axis}">${esc(op)}</text>`);
  }

  // Time axis: seconds from the start of the window, at a readable step.
  const span = (to - from) / 1000;
  const step = [0.5, 1, 2, 5, 10, 15, 30, 60, 120].find((s) => span / s <= 14) ?? 300;
  const axis: string[] = [];
  for (let s = 0; s <= span; s += step) {
    const px = x(from + s * 1000);
    axis.push(`<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="36" y2="${y}" stroke="#eef0f2"/>`);
    axis.push(
      `<text x="${px.toFixed(1)}" y="34" text-anchor="middle" font-size="10" fill="${COLORS.axis}">${s}s</text>`,
    );
  }

  y += 8;
  const legend = [
    ["starting", COLORS.starting],
    ["ready", COLORS.ready],
    ["unready", COLORS.unready],
    ["terminating", COLORS.terminating],
    ["in endpoints", COLORS.routed],
    ["disconnected / redis down", COLORS.down],
  ]
    .map(([label, color], i) => {
      const lx = 12 + i * 175;
      return `<rect x="${lx}" y="${y}" width="12" height="10" fill="${color}"/><text x="${lx + 16}" y="${y + 9}" font-size="11">${label}</text>`;
    })
    .join("");
  const marks = `<text x="12" y="${y + 26}" font-size="11" fill="${COLORS.axis}">▲ preStop hook   | SIGTERM   ✕ SIGKILL   (times: seconds from the start of the chart)</text>`;
  const height = y + 40;

  return svgDocument({ width: W, height, title: input.title, fontSize: 12 }, [
    ...bands,
    ...axis,
    ...bandLabels,
    ...rows,
    legend,
    marks,
  ]);
}

const bar = (a: number, b: number, y: number, color: string, title: string) =>
  `<rect x="${a.toFixed(1)}" y="${y + 4}" width="${Math.max(1.5, b - a).toFixed(1)}" height="${BAR}" fill="${color}"><title>${esc(title)}</title></rect>`;

const routedLine = (a: number, b: number, y: number) =>
  `<rect x="${a.toFixed(1)}" y="${y + 18}" width="${Math.max(1, b - a).toFixed(1)}" height="3" fill="${COLORS.routed}"/>`;

function marker(e: ClusterEvent, px: number, y: number): string | undefined {
  const title = `<title>${esc(`${e.type} ${JSON.stringify(e.detail ?? {})}`)}</title>`;
  if (e.type === "prestop")
    return `<path d="M${px - 4} ${y + 2} L${px + 4} ${y + 2} L${px} ${y - 4} Z" fill="${COLORS.text}">${title}</path>`;
  if (e.type === "sigterm")
    return `<line x1="${px}" x2="${px}" y1="${y}" y2="${y + 20}" stroke="${COLORS.text}" stroke-width="2">${title}</line>`;
  if (e.type === "killed")
    return `<text x="${px}" y="${y + 15}" text-anchor="middle" font-weight="700" fill="${COLORS.killed}">✕${title}</text>`;
  return undefined;
}
