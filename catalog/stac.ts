/**
 * The imagery catalog: STAC Items (JSON, local or on S3), each one acquisition with its date,
 * footprint (lon/lat), cloud cover and a 4-band image asset whose bands carry `eo:bands` names.
 * A catalog is a STAC Catalog whose `item` links point at Item files, or an ItemCollection.
 */
import { z } from 'zod';
import { ConfigError } from '../pipeline/errors.js';
import { isS3, readJson } from '../storage/index.js';

const BandSchema = z.object({ name: z.string(), common_name: z.string().optional() }).loose();

export const StacItemSchema = z
  .object({
    type: z.literal('Feature'),
    stac_version: z.string(),
    id: z.string().min(1),
    bbox: z.array(z.number()).length(4).describe('minLon, minLat, maxLon, maxLat'),
    geometry: z.object({ type: z.string(), coordinates: z.unknown() }).loose().nullable(),
    properties: z
      .object({
        datetime: z.string().describe('Acquisition instant (ISO 8601)'),
        'eo:cloud_cover': z.number().min(0).max(100).optional(),
        platform: z.string().optional(),
      })
      .loose(),
    assets: z.record(
      z.string(),
      z.object({ href: z.string(), type: z.string().optional(), roles: z.array(z.string()).optional(), 'eo:bands': z.array(BandSchema).optional() }).loose(),
    ),
    links: z.array(z.object({ rel: z.string(), href: z.string() }).loose()).default([]),
  })
  .loose();
export type StacItem = z.output<typeof StacItemSchema>;

/** One usable scene from the catalog: the image asset's absolute URI, its date and band mapping. */
export interface CatalogScene {
  id: string;
  uri: string;
  date: string;
  datetime: string;
  bbox: [number, number, number, number];
  cloudCover: number | null;
  /** Band name → 1-based band number in the file (from eo:bands common names). */
  bands: Record<string, number>;
}

/** `href` relative to `base` (a file or object URI): URIs and absolute paths stay as they are. */
export function resolveHref(base: string, href: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href) || href.startsWith('/')) return href;
  const dir = base.slice(0, base.lastIndexOf('/') + 1);
  const parts = (dir + href).split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..' && out.length && out[out.length - 1] !== '..' && !out[out.length - 1].endsWith(':')) out.pop();
    else if (p !== '.') out.push(p);
  }
  return out.join('/');
}

function toScene(item: StacItem, itemUri: string): CatalogScene {
  const asset = item.assets.image ?? item.assets.visual ?? Object.values(item.assets).find((a) => a.roles?.includes('data'));
  if (!asset) throw new ConfigError('CONFIG_INVALID', `${itemUri}: STAC item ${item.id} has no image asset (assets.image or role "data")`, { file: itemUri, field: 'assets' });
  const bands: Record<string, number> = {};
  (asset['eo:bands'] ?? []).forEach((b, i) => (bands[b.common_name ?? b.name] = i + 1));
  return {
    id: item.id,
    uri: resolveHref(itemUri, asset.href),
    date: item.properties.datetime.slice(0, 10),
    datetime: item.properties.datetime,
    bbox: item.bbox as [number, number, number, number],
    cloudCover: item.properties['eo:cloud_cover'] ?? null,
    bands,
  };
}

function parseItem(json: unknown, uri: string): StacItem {
  const r = StacItemSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError('CONFIG_INVALID', `${uri}: not a STAC Item: ${i.path.join('.') || '(root)'}: ${i.message}`, { file: uri, field: i.path.join('.') });
  }
  return r.data;
}

/** Every scene of a catalog (Catalog with item links, or ItemCollection), file or s3 URI. */
export async function loadCatalog(uri: string): Promise<CatalogScene[]> {
  const root = await readJson<Record<string, unknown>>(uri);
  const base = isS3(uri) || uri.includes('://') ? uri : uri;
  if (root.type === 'FeatureCollection') return ((root.features as unknown[]) ?? []).map((f) => toScene(parseItem(f, uri), base));
  if (root.type !== 'Catalog' && root.type !== 'Collection')
    throw new ConfigError('CONFIG_INVALID', `${uri}: not a STAC Catalog, Collection or ItemCollection (type ${String(root.type)})`, { file: uri });
  const links = ((root.links as { rel: string; href: string }[]) ?? []).filter((l) => l.rel === 'item' || l.rel === 'child');
  const out: CatalogScene[] = [];
  for (const l of links) {
    const href = resolveHref(base, l.href);
    if (l.rel === 'child') out.push(...(await loadCatalog(href)));
    else out.push(toScene(parseItem(await readJson(href), href), href));
  }
  return out;
}
