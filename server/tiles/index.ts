/**
 * Map tiles for the review app: 256×256 PNG tiles in Web Mercator XYZ of a run's scenes (true and
 * false colour), its change raster and the baseline land-use layer, with a cache.
 * The server uses {@link TileRenderer}; the render functions are usable on their own.
 */
export { TileRenderer, type TileRendererOptions, type TileRendererStats, type ImagerySource } from './renderer.js';
export { TileCache, type TileCacheOptions, type TileCacheStats } from './cache.js';
export {
  openImagery,
  closeImagery,
  renderImageryTile,
  sceneStretch,
  STYLE_BANDS,
  STRETCH_PERCENTILES,
  type ImageryScene,
  type ImageryStyle,
  type SceneShift,
} from './imagery.js';
export { openClassRaster, closeClassRaster, renderClassTile, paletteTable, CHANGE_PALETTE, CHANGE_TYPE_COLOURS, type ClassPalette, type ClassRaster } from './classes.js';
export { loadVectorLayer, renderVectorTile, rasterizeVectorTile, landUseGroup, LANDUSE_STYLE, type VectorLayer, type VectorStyle, type LandUseGroup } from './vector.js';
export {
  TILE_SIZE,
  TileError,
  checkTile,
  tileBounds3857,
  tileBoundsLonLat,
  tileBoundsIntersect,
  tileRange,
  tilesCovering,
  lonLatToMercator,
  mercatorToLonLat,
  type LonLatBBox,
  type MercatorBox,
} from './mercator.js';
export { gridLonLatBounds, tilePixelMap } from './warp.js';
