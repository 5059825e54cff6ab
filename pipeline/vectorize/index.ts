/**
 * Change masks to polygons: per-tile labelling of 4-connected components, merging across tile
 * edges, boundary tracing, and burning components back into raster windows. This is the module
 * other stages import; everything it returns is plain, structured-cloneable data (typed arrays,
 * arrays, records), and `toJsonPayload`/`fromJsonPayload` make it JSON-safe for job queues.
 */
export type { Component, ColumnarHist, IdLayer, TileComponents, TileMaskInput } from './types.js';
export { labelTile } from './label.js';
export { mergeTiles } from './merge.js';
export { traceComponent, ringSignedArea, pixelPolygonArea } from './trace.js';
export { componentsToRaster } from './burn.js';
export { pruneTileComponents } from './prune.js';
export { toJsonPayload, fromJsonPayload } from './payload.js';
