/**
 * Vector tiles of the baseline land-use survey (landuse.geojson, GB/T 21010 DLBM codes): polygons
 * reprojected once to Web Mercator and indexed (Flatbush), so a tile burns only the features whose
 * box meets it; fill is semi-transparent in the colour of the land-use group, boundaries opaque.
 */
import Flatbush from 'flatbush';
import { VectorError } from '../../pipeline/errors.js';
import { cleanGeometry, geojsonCrs } from '../../pipeline/baseline/vectors.js';
import { makeTransform } from '../../pipeline/geo/crs.js';
import { burnPolygon } from '../../pipeline/geo/rasterize.js';
import { readText } from '../../storage/index.js';
import { TILE_SIZE, TileError, checkTile, mercatorToLonLat, tileBounds3857, type LonLatBBox } from './mercator.js';
import { encodeTilePng } from './png.js';
import { WEB_MERCATOR } from './warp.js';

/** Land-use groups: the first-level classes of GB/T 21010 (first two digits of DLBM). */
export type LandUseGroup = 'cropland' | 'garden' | 'forest' | 'grassland' | 'construction' | 'transport' | 'water' | 'other';

/** Group of a DLBM code ('0101' → cropland); 'other' for unknown codes. */
export function landUseGroup(dlbm: unknown): LandUseGroup {
  const first = String(dlbm ?? '').trim().slice(0, 2);
  switch (first) {
    case '01':
      return 'cropland';
    case '02':
      return 'garden';
    case '03':
      return 'forest';
    case '04':
      return 'grassland';
    case '05':
    case '06':
    case '07':
    case '08':
    case '09':
      return 'construction';
    case '10':
      return 'transport';
    case '11':
      return 'water';
    default:
      return 'other';
  }
}

/** How a land-use layer is drawn. */
export interface VectorStyle {
  /** Colour per group, `#rrggbb`. */
  readonly colours: Readonly<Record<LandUseGroup, string>>;
  /** Fill opacity 0..1. */
  readonly fillOpacity: number;
  /** Boundary opacity 0..1 (boundaries are 1 px, in the group colour darkened). */
  readonly outlineOpacity: number;
  /** Field holding the land-use code. */
  readonly field: string;
}

/** Colours in the spirit of the third national land survey's map conventions. */
export const LANDUSE_STYLE: VectorStyle = {
  colours: {
    cropland: '#f2e35a',
    garden: '#d98ad9',
    forest: '#2f9e44',
    grassland: '#a3d977',
    construction: '#e0604f',
    transport: '#9e9e9e',
    water: '#3a8fd9',
    other: '#c9b38f',
  },
  fillOpacity: 0.35,
  outlineOpacity: 0.9,
  field: 'DLBM',
};

/** A polygon layer in Web Mercator, indexed. */
export interface VectorLayer {
  readonly uri: string;
  /** Per feature: polygons (outer ring + holes) as flat [x0, y0, x1, y1, …] rings in Web Mercator. */
  readonly features: readonly { readonly properties: Readonly<Record<string, unknown>>; readonly rings: readonly (readonly Float64Array[])[] }[];
  readonly index: Flatbush | null;
  readonly lonLatBounds: LonLatBBox;
  /** Features left out (unusable geometry or unprojectable). */
  readonly skipped: number;
}

/**
 * Reads a GeoJSON polygon layer (file path, file:// or s3://) into Web Mercator. Geometries are
 * cleaned as the pipeline cleans them; unusable ones are skipped and counted.
 * @throws VectorError FILE_NOT_FOUND / VECTOR_INVALID / UNSUPPORTED_CRS naming the file
 */
export async function loadVectorLayer(uri: string): Promise<VectorLayer> {
  let doc: { type?: string; features?: unknown[]; crs?: { properties?: { name?: string } } };
  try {
    doc = JSON.parse(await readText(uri));
  } catch (e) {
    if (e instanceof SyntaxError) throw new VectorError('VECTOR_INVALID', `${uri}: not valid JSON (${e.message})`, { file: uri }, { cause: e });
    throw new VectorError('FILE_NOT_FOUND', `${uri}: cannot read the vector layer (${(e as Error).message})`, { file: uri }, { cause: e });
  }
  if (doc?.type !== 'FeatureCollection' || !Array.isArray(doc.features)) throw new VectorError('VECTOR_INVALID', `${uri}: not a GeoJSON FeatureCollection`, { file: uri });
  const toMerc = makeTransform(geojsonCrs(doc, uri), WEB_MERCATOR);
  const features: { properties: Record<string, unknown>; rings: Float64Array[][] }[] = [];
  const boxes: number[] = [];
  let skipped = 0;
  for (const f of doc.features as { geometry?: unknown; properties?: Record<string, unknown> | null }[]) {
    const cleaned = cleanGeometry(f?.geometry);
    if ('problem' in cleaned) {
      skipped++;
      continue;
    }
    let [minX, minY, maxX, maxY] = [Infinity, Infinity, -Infinity, -Infinity];
    const rings = cleaned.polygons.map((poly) =>
      poly.map((ring) => {
        const flat = new Float64Array(ring.length * 2);
        ring.forEach(([x, y], i) => {
          const [X, Y] = toMerc(x, y);
          flat[2 * i] = X;
          flat[2 * i + 1] = Y;
          if (X < minX) minX = X;
          if (X > maxX) maxX = X;
          if (Y < minY) minY = Y;
          if (Y > maxY) maxY = Y;
        });
        return flat;
      }),
    );
    if (![minX, minY, maxX, maxY].every(Number.isFinite)) {
      skipped++;
      continue;
    }
    features.push({ properties: f.properties ?? {}, rings });
    boxes.push(minX, minY, maxX, maxY);
  }
  let index: Flatbush | null = null;
  let bounds: LonLatBBox = [0, 0, 0, 0];
  if (features.length) {
    index = new Flatbush(features.length);
    for (let i = 0; i < features.length; i++) index.add(boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]);
    index.finish();
    const [w, s] = mercatorToLonLat(index.minX, index.minY);
    const [e, n] = mercatorToLonLat(index.maxX, index.maxY);
    bounds = [w, s, e, n];
  }
  return { uri, features, index, lonLatBounds: bounds, skipped };
}

const hexRgb = (hex: string): [number, number, number] => {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) throw new TileError('CONFIG_INVALID', `vector style colour "${hex}" is not #rrggbb`, { field: 'style' });
  const v = parseInt(m[1], 16);
  return [v >> 16, (v >> 8) & 255, v & 255];
};

/**
 * Renders a tile of a land-use layer as PNG. Features are burnt by the pipeline's pixel-centre
 * rule into a buffer one pixel wider than the tile on each side, so a boundary on the tile edge
 * is drawn the same in both neighbouring tiles.
 * @returns null when no feature's box meets the tile
 * @throws TileError CONFIG_INVALID (bad z/x/y or style)
 */
export async function renderVectorTile(layer: VectorLayer, z: number, x: number, y: number, style: VectorStyle = LANDUSE_STYLE): Promise<Buffer | null> {
  checkTile(z, x, y);
  const rgba = rasterizeVectorTile(layer, z, x, y, style);
  return rgba ? encodeTilePng(rgba) : null;
}

/** RGBA of a vector tile, or null when no feature's box meets it. Pure. */
export function rasterizeVectorTile(layer: VectorLayer, z: number, x: number, y: number, style: VectorStyle): Uint8Array | null {
  if (!layer.index) return null;
  const b = tileBounds3857(z, x, y);
  const res = (b.maxX - b.minX) / TILE_SIZE;
  const hits = layer.index.search(b.minX - res, b.minY - res, b.maxX + res, b.maxY + res).sort((i, j) => i - j);
  if (hits.length === 0) return null;
  const groups = Object.keys(style.colours) as LandUseGroup[];
  const fill = groups.map((g) => hexRgb(style.colours[g]));
  const S = TILE_SIZE + 2;
  const win = { col: -1, row: -1, width: S, height: S };
  const ids = new Int32Array(S * S); // 1 + position in `hits`, 0 = no feature
  const groupOf = new Uint8Array(hits.length + 1);
  hits.forEach((fi, k) => {
    const f = layer.features[fi];
    groupOf[k + 1] = groups.indexOf(landUseGroup(f.properties[style.field]));
    for (const poly of f.rings) {
      const px = poly.map((flat) => {
        const ring: [number, number][] = new Array(flat.length / 2);
        for (let i = 0; i < ring.length; i++) ring[i] = [(flat[2 * i] - b.minX) / res, (b.maxY - flat[2 * i + 1]) / res];
        return ring;
      });
      burnPolygon(px, k + 1, win, ids);
    }
  });
  const out = new Uint8Array(TILE_SIZE * TILE_SIZE * 4);
  const fa = Math.round(255 * style.fillOpacity);
  const oa = Math.round(255 * style.outlineOpacity);
  for (let ty = 0; ty < TILE_SIZE; ty++)
    for (let tx = 0; tx < TILE_SIZE; tx++) {
      const q = (ty + 1) * S + tx + 1;
      const id = ids[q];
      if (!id) continue;
      const [r, g, bl] = fill[groupOf[id]];
      const edge = ids[q - 1] !== id || ids[q + 1] !== id || ids[q - S] !== id || ids[q + S] !== id;
      const o = (ty * TILE_SIZE + tx) * 4;
      // Boundaries darker than the fill so neighbouring parcels of one group stay apart.
      const k = edge ? 0.6 : 1;
      out[o] = Math.round(r * k);
      out[o + 1] = Math.round(g * k);
      out[o + 2] = Math.round(bl * k);
      out[o + 3] = edge ? oa : fa;
    }
  return out;
}
