/**
 * The confusion matrix as a PNG: rows = reference, columns = predicted, cells shaded by the share
 * of their row (recall colours the diagonal), with counts written in. Drawn as SVG and rasterised
 * by sharp (librsvg), so no plotting library is needed.
 */
import sharp from 'sharp';
import type { LandCoverAccuracy } from './index.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export async function confusionMatrixPng(acc: LandCoverAccuracy, title: string, outPath: string): Promise<void> {
  const refs = acc.classes.filter((c) => acc.perClass[c].support > 0);
  const preds = acc.classes.filter((c) => acc.perClass[c].predicted > 0);
  const cell = 64;
  const left = 130;
  const top = 150;
  const width = left + cell * preds.length + 110;
  const height = top + cell * refs.length + 40;
  const parts: string[] = [
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="24" font-size="16" font-family="sans-serif" font-weight="bold">${esc(title)}</text>`,
    `<text x="${left}" y="46" font-size="13" font-family="sans-serif">overall accuracy ${acc.overallAccuracy.toFixed(3)}, kappa ${acc.kappa.toFixed(3)}, ${acc.pixels} px; rows reference, columns predicted</text>`,
  ];
  preds.forEach((p, j) => parts.push(`<text transform="translate(${left + j * cell + cell / 2 + 4},${top - 8}) rotate(-50)" font-size="13" font-family="sans-serif">${esc(p)}</text>`));
  parts.push(`<text x="${left + preds.length * cell + 8}" y="${top - 8}" font-size="13" font-family="sans-serif">recall · F1</text>`);
  refs.forEach((r, i) => {
    const y = top + i * cell;
    const total = acc.perClass[r].support;
    parts.push(`<text x="${left - 8}" y="${y + cell / 2 + 5}" font-size="13" font-family="sans-serif" text-anchor="end">${esc(r)}</text>`);
    preds.forEach((p, j) => {
      const n = acc.confusion[r]?.[p] ?? 0;
      const share = total ? n / total : 0;
      // Diagonal in green, confusions in red; lightness by share of the row.
      const hue = r === p ? 130 : 0;
      const light = Math.round(97 - 55 * share);
      parts.push(`<rect x="${left + j * cell}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="hsl(${hue},60%,${light}%)"/>`);
      if (n) parts.push(`<text x="${left + j * cell + cell / 2}" y="${y + cell / 2 + 5}" font-size="12" font-family="sans-serif" text-anchor="middle" fill="${light < 60 ? 'white' : 'black'}">${n}</text>`);
    });
    parts.push(`<text x="${left + preds.length * cell + 8}" y="${y + cell / 2 + 5}" font-size="13" font-family="sans-serif">${acc.perClass[r].recall.toFixed(2)} · ${acc.perClass[r].f1.toFixed(2)}</text>`);
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
  await sharp(Buffer.from(svg)).png().toFile(outPath);
}
