import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

/** The package root, whether running from source (cli/) or compiled (dist/cli/). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = resolve(dir, '..');
    if (up === dir) break;
    dir = up;
  }
  return dir;
}

/** The default land-cover model shipped in models/. */
export const defaultModelDir = (): string => join(packageRoot(), 'models', 'spectral-v1');
