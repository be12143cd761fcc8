/**
 * latest.svg: three panels of horizontal bars (throughput, p99 latency, CPU per request), one bar per
 * scenario/target with a measured rate; under the title the run's date and mode, a legend of the
 * colours, and a mark on noisy rows; below, the ws-idle panel (memory while holding idle sockets,
 * sockets alive). Hand-written SVG, no dependencies.
 */
import type { Row } from "../summary.js";

/** Bar colours by target family, in the legend's order; anything else is "other" (grey). */
const COLORS: [string, RegExp, string][] = [
  ["echomesh", /^echomesh/, "#2563eb"],
  ["Envoy", /^envoy/, "#dc2626"],
  ["HAProxy", /^haproxy/, "#16a34a"],
  ["nginx", /^nginx/, "#0d9488"],
  ["Caddy", /^caddy/, "#9333ea"],
  ["Node proxies", /http-proxy/, "#ea580c"],
];
const OTHER = "#6b7280";

const color = (target: string): string => COLORS.find(([, re]) => re.test(target))?.[2] ?? OTHER;

/** Rounds whose throughput differs by more than this (max ÷ min - 1) make a row noisy. */
export const NOISY_SPREAD = 0.25;

/** The row's rounds disagree by more than NOISY_SPREAD: its numbers say little (a shared machine). */
export function noisy(r: Row): boolean {
  const v = r.requestsPerSec.filter((x): x is number => x !== null && x > 0);
  return v.length > 1 && Math.max(...v) / Math.min(...v) - 1 > NOISY_SPREAD;
}

/** What the chart says about the run as a whole. */
export interface ChartInfo {
  /** When the run started (ISO). */
  date: string;
  /** Its settings in a few words: "quick: 1 round(s) of 1 s". */
  mode: string;
}

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

interface Panel {
  title: string;
  value: (r: Row) => number | null;
  format: (v: number) => string;
}

const PANELS: Panel[] = [
  {
    title: "throughput (req/s or RT/s, median)",
    value: (r) => {
      const v = r.requestsPerSec.filter((x): x is number => x !== null).sort((a, b) => a - b);
      return v.length === 0 ? null : (v[Math.floor(v.length / 2)] as number);
    },
    format: (v) => Math.round(v).toLocaleString("en-US"),
  },
  { title: "p99 latency (ms)", value: (r) => r.latencyP99Ms, format: (v) => v.toFixed(v < 10 ? 2 : 0) },
  {
    title: "CPU per request (µs, target's own)",
    value: (r) => r.cpuUsPerRequest,
    format: (v) => v.toFixed(0),
  },
];

export function svgChart(rows: Row[], info: ChartInfo): string {
  const bars = rows.filter((r) => r.requestsPerSec.some((v) => v !== null));
  const label = 190;
  const panelW = 250;
  const rowH = 16;
  const top = 108;
  // ws-idle has no rate: its sockets and memory get a panel of their own below the bars
  const idle = rows.filter((r) => r.opened !== null && r.requestsPerSec.every((v) => v === null));
  const idleTop = top + Math.max(1, bars.length) * rowH + 40;
  const width = label + PANELS.length * (panelW + 20) + 10;
  const height = idle.length === 0 ? idleTop - 10 : idleTop + idle.length * rowH + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">echomesh load test</text>`,
    `<text x="10" y="36" fill="#444">${esc(`${info.date.replace("T", " ").replace(/\.\d+Z$/, " UTC")} · ${info.mode}`)}</text>`,
    ...legend(bars.some(noisy)),
  ];
  bars.forEach((r, i) => {
    const y = top + i * rowH;
    if (i > 0 && bars[i - 1]?.scenario !== r.scenario) {
      out.push(`<line x1="10" x2="${width - 10}" y1="${y - 2}" y2="${y - 2}" stroke="#ddd"/>`);
    }
    const mark = noisy(r) ? " ~" : "";
    out.push(
      `<text x="${label - 6}" y="${y + 11}" text-anchor="end">${esc(`${r.scenario} / ${r.target}${mark}`)}</text>`,
    );
  });
  PANELS.forEach((p, pi) => {
    const x0 = label + pi * (panelW + 20);
    out.push(`<text x="${x0}" y="${top - 10}" font-weight="bold">${esc(p.title)}</text>`);
    // scale per scenario kind would hide differences; one scale per panel keeps bars comparable
    const max = Math.max(1e-9, ...bars.map((r) => p.value(r) ?? 0));
    bars.forEach((r, i) => {
      const v = p.value(r);
      const y = top + i * rowH;
      if (v === null) {
        out.push(`<text x="${x0 + 2}" y="${y + 11}" fill="#999">n/a</text>`);
        return;
      }
      const w = Math.max(1, (v / max) * (panelW - 60));
      out.push(
        `<rect x="${x0}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${color(r.target)}"/>`,
      );
      out.push(`<text x="${(x0 + w + 4).toFixed(1)}" y="${y + 11}">${esc(p.format(v))}</text>`);
    });
  });
  if (idle.length > 0) {
    out.push(
      `<text x="${label}" y="${idleTop - 10}" font-weight="bold">idle WebSockets held: the target's RSS while holding them (MiB), sockets alive / opened</text>`,
    );
    const max = Math.max(1e-9, ...idle.map((r) => r.rssMb ?? 0));
    idle.forEach((r, i) => {
      const y = idleTop + i * rowH;
      out.push(
        `<text x="${label - 6}" y="${y + 11}" text-anchor="end">${esc(`${r.scenario} / ${r.target}`)}</text>`,
      );
      const w = Math.max(1, ((r.rssMb ?? 0) / max) * (panelW * 2 - 60));
      const text = `${r.rssMb === null ? "n/a" : `${r.rssMb.toFixed(0)} MiB`}, ${r.alive ?? 0} / ${r.opened ?? 0} alive`;
      out.push(
        `<rect x="${label}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${color(r.target)}"/>`,
        `<text x="${(label + w + 4).toFixed(1)}" y="${y + 11}">${esc(text)}</text>`,
      );
    });
  }
  out.push("</svg>", "");
  return out.join("\n");
}

/** The colour legend at y 52, and what "~" means when a row carries it. */
function legend(anyNoisy: boolean): string[] {
  const entries: [string, string][] = [
    ...COLORS.map(([name, , c]): [string, string] => [name, c]),
    ["other", OTHER],
  ];
  const out = entries.flatMap(([name, c], i) => [
    `<rect x="${10 + i * 105}" y="52" width="10" height="10" fill="${c}"/>`,
    `<text x="${24 + i * 105}" y="61">${esc(name)}</text>`,
  ]);
  if (anyNoisy)
    out.push(
      `<text x="10" y="78" fill="#b45309">~ noisy: the rounds' throughput differs by more than ${NOISY_SPREAD * 100}% (a busy machine); compare such rows with care</text>`,
    );
  return out;
}
