/**
 * A small line plot for the soak (soak.svg): panels stacked, one line per series over the same time
 * axis, a legend. Hand-written SVG like ./svg.ts, no dependencies.
 */

export interface Series {
  name: string;
  /** [seconds, value] */
  points: [number, number][];
}

export interface LinePanel {
  title: string;
  unit: string;
  series: Series[];
}

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0d9488", "#6b7280"];

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A round step for about `ticks` gridlines over [0, max]. */
function step(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
}

export function lineChart(title: string, subtitle: string, panels: LinePanel[]): string {
  const left = 60;
  const plotW = 640;
  const plotH = 180;
  const gap = 60;
  const top = 56;
  const legendW = 130;
  const width = left + plotW + 20 + legendW;
  const height = top + panels.length * (plotH + gap);
  const tMax = Math.max(1, ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([t]) => t))));
  const tStep = step(tMax, 8);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="36" fill="#444">${esc(subtitle)}</text>`,
  ];
  panels.forEach((p, pi) => {
    const y0 = top + pi * (plotH + gap) + 14;
    const vMax = Math.max(1e-9, ...p.series.flatMap((s) => s.points.map(([, v]) => v))) * 1.1;
    const vStep = step(vMax, 4);
    const x = (t: number): number => left + (t / tMax) * plotW;
    const y = (v: number): number => y0 + plotH - (v / vMax) * plotH;
    out.push(`<text x="${left}" y="${y0 - 6}" font-weight="bold">${esc(`${p.title} (${p.unit})`)}</text>`);
    for (let v = 0; v <= vMax; v += vStep) {
      out.push(
        `<line x1="${left}" x2="${left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`,
        `<text x="${left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#666">${+v.toFixed(3)}</text>`,
      );
    }
    for (let t = 0; t <= tMax; t += tStep) {
      out.push(
        `<text x="${x(t).toFixed(1)}" y="${y0 + plotH + 14}" text-anchor="middle" fill="#666">${+t.toFixed(1)} s</text>`,
      );
    }
    out.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
    p.series.forEach((s, si) => {
      const color = PALETTE[si % PALETTE.length] as string;
      const pts = s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
      const ly = y0 + 12 + si * 16;
      out.push(
        `<line x1="${left + plotW + 20}" x2="${left + plotW + 36}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
        `<text x="${left + plotW + 40}" y="${ly}">${esc(s.name)}</text>`,
      );
    });
  });
  out.push("</svg>", "");
  return out.join("\n");
}
