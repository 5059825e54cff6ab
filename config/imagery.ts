/**
 * Scene options as they appear in configs and on the command line.
 */
import { z } from 'zod';
import { ConfigError } from '../pipeline/errors.js';
import type { SceneOptions } from '../pipeline/imagery/index.js';

/** Options for one input scene (see `openScene`). */
export const SceneOptionsSchema = z
  .object({
    bands: z
      .record(z.string().min(1), z.number().int().positive())
      .optional()
      .describe('Band names → 1-based band numbers, e.g. {"blue":1,"green":2,"red":3,"nir":4}; default: the file\'s band descriptions, else b1..bn'),
    scale: z
      .number()
      .finite()
      .optional()
      .describe('Multiplier from stored value to reflectance (default: the file\'s SCALE, else 1/255 for uint8, 1/10000 for (u)int16, 1 for float)'),
    offset: z.number().finite().optional().describe('Added to the scaled value, reflectance units (default: the file\'s OFFSET, else 0)'),
    nodata: z.number().nullable().optional().describe('Stored NoData value; overrides the GDAL_NODATA tag, null ignores the tag'),
    date: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'a YYYY-MM-DD date')
      .optional()
      .describe('Acquisition date YYYY-MM-DD (default: GDAL metadata ACQUISITION_DATE/DATE, a date in the file name, else the TIFF DateTime)'),
  })
  .describe('How to read one scene');

// The validated options are accepted by openScene as they are.
const _compatible: SceneOptions = {} as z.output<typeof SceneOptionsSchema>;
void _compatible;

/**
 * Parses a band mapping flag such as `"blue=1,green=2,red=3,nir=4"` (names are lower-cased).
 * @returns name → 1-based band number
 * @throws ConfigError CONFIG_INVALID naming the bad item, e.g. `--bands: "nir=x" is not name=number`
 */
export function parseBandMapping(text: string, flag = '--bands'): Record<string, number> {
  const out: Record<string, number> = {};
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 0 || items.every((s) => s === '')) {
    throw new ConfigError('CONFIG_INVALID', `${flag}: empty band mapping (expected e.g. "blue=1,green=2,red=3,nir=4")`, { field: flag });
  }
  for (const item of items) {
    const m = /^([A-Za-z_][\w.-]*)\s*=\s*(\d+)$/.exec(item);
    if (!m) throw new ConfigError('CONFIG_INVALID', `${flag}: "${item}" is not name=number (expected e.g. "nir=4")`, { field: flag });
    const name = m[1].toLowerCase();
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError('CONFIG_INVALID', `${flag}: "${item}": band numbers start at 1`, { field: flag });
    if (name in out) throw new ConfigError('CONFIG_INVALID', `${flag}: band name "${name}" is given twice`, { field: flag });
    out[name] = n;
  }
  return out;
}
