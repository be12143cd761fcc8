/**
 * latest.svg: three panels of horizontal bars (throughput, p99 latency, CPU per request), one bar per
 * scenario/target with a measured rate. Hand-written SVG, no dependencies.
 */
import type { Row } from "../summary.js";

const COLORS: [RegExp, string][] = [
  [/^echomesh/, "#2563eb"],
  [/^envoy/, "#dc2626"],
  [/^haproxy/, "#16a34a"],
  [/^nginx/, "#0d9488"],
  [/^caddy/, "#9333ea"],
  [/http-proxy/, "#ea580c"],
];

const color = (target: string): string => COLORS.find(([re]) => re.test(target))?.[1] ?? "#6b7280";

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

export function svgChart(rows: Row[]): string {
  const bars = rows.filter((r) => r.requestsPerSec.some((v) => v !== null));
  const label = 190;
  const panelW = 250;
  const rowH = 16;
  const top = 48;
  const width = label + PANELS.length * (panelW + 20) + 10;
  const height = top + Math.max(1, bars.length) * rowH + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">echomesh load test</text>`,
  ];
  bars.forEach((r, i) => {
    const y = top + i * rowH;
    if (i > 0 && bars[i - 1]?.scenario !== r.scenario) {
      out.push(`<line x1="10" x2="${width - 10}" y1="${y - 2}" y2="${y - 2}" stroke="#ddd"/>`);
    }
    out.push(
      `<text x="${label - 6}" y="${y + 11}" text-anchor="end">${esc(`${r.scenario} / ${r.target}`)}</text>`,
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
  out.push("</svg>", "");
  return out.join("\n");
}
