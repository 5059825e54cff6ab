/**
 * The imagery reader: the only module that reads image bytes. Opens GeoTIFFs (validating their
 * structure up front), reads windows as reflectance with validity, and resamples a scene onto
 * another scene's grid.
 */
export {
  openScene,
  closeScene,
  readRawWindow,
  type Scene,
  type SceneInfo,
  type SceneBand,
  type SceneOptions,
  type SampleType,
  type RawArray,
  type RawBlock,
} from './scene.js';
export { readWindow } from './read.js';
export { useNativeDeflate } from './decoders.js';
export {
  readOnGrid,
  gridsOverlap,
  noOverlapError,
  assertScenesOverlap,
  sameGridSpace,
  crsEqual,
  type ReadOnGridOptions,
} from './resample.js';
export * from './geotiff-writer.js';
