import { closeScene, openScene, readRawWindow } from '../../pipeline/imagery/index.js';
import type { Grid } from '../../pipeline/types.js';

/** The grid of a run's change.tif and how many of its pixels are non-zero. */
export async function readChangeRaster(path: string): Promise<{ grid: Grid; changed: number }> {
  const scene = await openScene(path);
  try {
    const { width, height } = scene.info.grid;
    const raw = await readRawWindow(scene, { col: 0, row: 0, width, height });
    let changed = 0;
    for (const v of raw.data[0]) if (v) changed++;
    return { grid: scene.info.grid, changed };
  } finally {
    await closeScene(scene);
  }
}

/** The grid of a GeoTIFF. */
export async function readGrid(path: string): Promise<Grid> {
  const scene = await openScene(path);
  await closeScene(scene);
  return scene.info.grid;
}
