/**
 * The time-series plot of a parcel against its season: NDVI (median with the p10–p90 band) per
 * observation, unusable observations as hollow marks at the bottom, the season shaded, the green-up
 * threshold as a dashed line and the verdict in the title. SVG rasterised by sharp, as the
 * confusion-matrix plot does.
 */
import sharp from 'sharp';
import type { IdleConfig } from './config.js';
import type { ParcelDecision } from './decide.js';
import type { ParcelObservation } from './observe.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export interface SeriesPlotInput {
  title: string;
  observations: readonly ParcelObservation[];
  decision?: ParcelDecision;
  cfg: Pick<IdleConfig, 'greenUpNdvi'>;
  /** Extra series drawn in grey (e.g. a comparison area). */
  subtitle?: string;
}

/** SVG text of the plot (exported for tests). */
export function seriesSvg(p: SeriesPlotInput): string {
  const W = 760;
  const H = 380;
  const L = 60;
  const R = 20;
  const T = 60;
  const B = 50;
  const obs = [...p.observations].sort((a, b) => a.date.localeCompare(b.date));
  const times = obs.map((o) => Date.parse(o.date));
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (p.decision) {
    t0 = Math.min(t0, Date.parse(p.decision.season.start));
    t1 = Math.max(t1, Date.parse(p.decision.season.end));
  }
  if (!(t1 > t0)) t1 = t0 + 86_400_000;
  const x = (t: number) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const yMin = -0.2;
  const yMax = 1;
  const y = (v: number) => T + ((yMax - Math.max(yMin, Math.min(yMax, v))) / (yMax - yMin)) * (H - T - B);
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="white"/>`];
  parts.push(`<text x="${L}" y="22" font-size="15" font-family="sans-serif" font-weight="bold">${esc(p.title)}</text>`);
  const d = p.decision;
  const sub = p.subtitle ?? (d ? `${d.verdict}${d.nonGrainKind ? ` (${d.nonGrainKind})` : ''}: ${d.reason}` : '');
  parts.push(`<text x="${L}" y="42" font-size="11" font-family="sans-serif">${esc(sub.length > 120 ? sub.slice(0, 117) + '…' : sub)}</text>`);
  if (d) parts.push(`<rect x="${x(Date.parse(d.season.start))}" y="${T}" width="${x(Date.parse(d.season.end)) - x(Date.parse(d.season.start))}" height="${H - T - B}" fill="#eef6e8"/>`);
  for (let v = -0.2; v <= 1.0001; v += 0.2) {
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${L - 6}" y="${y(v) + 4}" font-size="11" font-family="sans-serif" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  parts.push(`<text transform="translate(16,${(T + H - B) / 2}) rotate(-90)" font-size="12" font-family="sans-serif" text-anchor="middle">NDVI</text>`);
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(p.cfg.greenUpNdvi)}" y2="${y(p.cfg.greenUpNdvi)}" stroke="#2a7" stroke-dasharray="6,4"/>`);
  parts.push(`<text x="${W - R - 4}" y="${y(p.cfg.greenUpNdvi) - 4}" font-size="10" font-family="sans-serif" text-anchor="end" fill="#2a7">green-up ${p.cfg.greenUpNdvi}</text>`);
  // Month ticks.
  const first = new Date(t0);
  for (let m = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1)); m.getTime() <= t1; m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))) {
    if (m.getTime() < t0) continue;
    // Over more than a year, label January and July only so the labels do not overlap.
    if (t1 - t0 > 400 * 86_400_000 && m.getUTCMonth() % 6 !== 0) continue;
    const xx = x(m.getTime());
    parts.push(`<line x1="${xx}" x2="${xx}" y1="${H - B}" y2="${H - B + 5}" stroke="#333"/>`);
    parts.push(`<text x="${xx + 2}" y="${H - B + 18}" font-size="10" font-family="sans-serif">${m.toISOString().slice(0, 7)}</text>`);
  }
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>`);
  const good = obs.filter((o) => o.usable && o.ndvi);
  if (good.length) {
    const band = [...good.map((o) => `${x(Date.parse(o.date))},${y(o.ndvi!.p90)}`), ...[...good].reverse().map((o) => `${x(Date.parse(o.date))},${y(o.ndvi!.p10)}`)].join(' ');
    parts.push(`<polygon points="${band}" fill="#9bd" fill-opacity="0.45"/>`);
    parts.push(`<polyline points="${good.map((o) => `${x(Date.parse(o.date))},${y(o.ndvi!.p50)}`).join(' ')}" fill="none" stroke="#137" stroke-width="2"/>`);
    for (const o of good) parts.push(`<circle cx="${x(Date.parse(o.date))}" cy="${y(o.ndvi!.p50)}" r="4" fill="#137"/>`);
  }
  for (const o of obs.filter((q) => !q.usable || !q.ndvi)) {
    const xx = x(Date.parse(o.date));
    parts.push(`<circle cx="${xx}" cy="${y(-0.15)}" r="4" fill="none" stroke="#c33"/>`);
  }
  if (obs.some((q) => !q.usable)) parts.push(`<text x="${L + 4}" y="${y(-0.15) - 8}" font-size="10" font-family="sans-serif" fill="#c33">○ unusable (cloud, shadow, no data, too little clear area)</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">${parts.join('')}</svg>`;
}

/** Writes the plot as PNG. */
export async function seriesPng(p: SeriesPlotInput, outPath: string): Promise<void> {
  await sharp(Buffer.from(seriesSvg(p))).png().toFile(outPath);
}
