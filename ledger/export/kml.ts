/**
 * KML 2.2 export for field apps (两步路, Google Earth, Ovital map…): one Placemark per case named by
 * its JCBH, in one Folder per township; a pin at the centroid and the outline (MultiGeometry); a
 * description table and ExtendedData with the Chinese field names; one Style per change type,
 * coloured by family (occupation red, outflow orange, idle yellow). Coordinates lon/lat (KML is
 * WGS84; CGCS2000 agrees to a few cm).
 */
import { writeFileAtomic } from '../../pipeline/outputs/atomic.js';
import { CLUE_FIELDS, fieldText } from './fields.js';
import { LONLAT_DECIMALS, lonLatGeometry } from './geojson.js';
import type { ResolvedClueExportOptions } from './options.js';
import type { ClueFeature } from './types.js';

// Characters XML 1.0 forbids even escaped (controls other than tab/LF/CR, lone surrogates, U+FFFE/F).
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for XML element content and attribute values; drops characters XML cannot carry. */
export function xmlEscape(s: string): string {
  return s
    .replace(XML_INVALID, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** KML colour (aabbggrr) of a change type, by family. */
export function typeColor(tblx: string): string {
  if (tblx.startsWith('occupation')) return 'ff0000ff';
  if (tblx.startsWith('outflow')) return 'ff0080ff';
  if (tblx.startsWith('idle')) return 'ff00ffff';
  return 'ffff00ff';
}

const coords = (ring: number[][]): string => ring.map((p) => `${p[0].toFixed(LONLAT_DECIMALS)},${p[1].toFixed(LONLAT_DECIMALS)}`).join(' ');

function placemark(f: ClueFeature, styleId: string): string {
  const a = f.fields;
  const rows = CLUE_FIELDS.map((spec) => [spec, fieldText(a, spec)] as const);
  const table = `<table border="1" cellpadding="2">${rows.map(([s, v]) => `<tr><td>${xmlEscape(s.header)}</td><td>${xmlEscape(v)}</td></tr>`).join('')}</table>`;
  const data = rows
    .map(([s, v]) => `<Data name="${s.key}"><displayName>${xmlEscape(s.header)}</displayName><value>${xmlEscape(v)}</value></Data>`)
    .join('');
  const parts: string[] = [];
  if (Number.isFinite(a.JD) && Number.isFinite(a.WD)) parts.push(`<Point><coordinates>${a.JD.toFixed(LONLAT_DECIMALS)},${a.WD.toFixed(LONLAT_DECIMALS)}</coordinates></Point>`);
  for (const poly of lonLatGeometry(f)) {
    const [outer, ...holes] = poly;
    parts.push(
      `<Polygon><outerBoundaryIs><LinearRing><coordinates>${coords(outer)}</coordinates></LinearRing></outerBoundaryIs>` +
        holes.map((h) => `<innerBoundaryIs><LinearRing><coordinates>${coords(h)}</coordinates></LinearRing></innerBoundaryIs>`).join('') +
        `</Polygon>`,
    );
  }
  const geometry = parts.length === 0 ? '' : parts.length === 1 ? parts[0] : `<MultiGeometry>${parts.join('')}</MultiGeometry>`;
  // The table is HTML inside the description; escaping it (not CDATA) keeps any "]]>" in the data harmless.
  return (
    `<Placemark><name>${xmlEscape(a.JCBH)}</name><description>${xmlEscape(table)}</description>` +
    `<styleUrl>#${styleId}</styleUrl><ExtendedData>${data}</ExtendedData>${geometry}</Placemark>`
  );
}

export async function writeKml(features: readonly ClueFeature[], outPath: string, opts: ResolvedClueExportOptions): Promise<void> {
  const styles = new Map<string, { id: string; label: string }>();
  for (const f of features) if (!styles.has(f.fields.TBLX)) styles.set(f.fields.TBLX, { id: `type${styles.size + 1}`, label: f.fields.TBLXMC });
  const styleXml = [...styles].map(
    ([tblx, s]) =>
      `<Style id="${s.id}"><LabelStyle><scale>0.8</scale></LabelStyle><LineStyle><color>${typeColor(tblx)}</color><width>2</width></LineStyle>` +
      `<PolyStyle><color>40${typeColor(tblx).slice(2)}</color></PolyStyle></Style>`,
  );
  const towns = new Map<string, ClueFeature[]>();
  for (const f of features) {
    const name = f.fields.XZQMC ?? f.fields.XZQDM ?? '未知乡镇';
    if (!towns.has(name)) towns.set(name, []);
    towns.get(name)!.push(f);
  }
  const folders = [...towns].map(
    ([name, fs]) => `<Folder><name>${xmlEscape(name)}</name>\n${fs.map((f) => placemark(f, styles.get(f.fields.TBLX)!.id)).join('\n')}\n</Folder>`,
  );
  const text =
    `<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">\n<Document>` +
    `<name>${xmlEscape(opts.title ?? '卫片执法线索')}</name>\n${styleXml.join('\n')}\n${folders.join('\n')}\n</Document>\n</kml>\n`;
  await writeFileAtomic(outPath, text);
}
