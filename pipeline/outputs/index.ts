/**
 * Outputs of a detection run: GeoJSON of the patches, the clue-list workbook (线索清单), evidence
 * chips, scoring against planted truth, and atomic JSON for summary.json. Other folders import
 * only this file.
 */
export { writeJsonAtomic, writeFileAtomic, writeViaPartial, PARTIAL_SUFFIX } from './atomic.js';
export { writePatchesGeoJSON, patchToFeature, toGeoJsonGeometry, GEOJSON_CRS_NOTE } from './geojson.js';
export type { GeoJsonPolygonal, PatchFeature } from './geojson.js';
export {
  writeClueListXlsx,
  writeTableSheet,
  writeWorkbookAtomic,
  writeTitle,
  writeHeaderRow,
  groupByTownship,
  displayWidth,
  toSheetName,
  CLUE_LIST_HEADERS,
  CLUE_SHEET_NAME,
  SUMMARY_SHEET_NAME,
  SUMMARY_TYPE_HEADERS,
  SUMMARY_TOWNSHIP_HEADERS,
  TOTAL_LABEL,
  UNKNOWN_TOWNSHIP,
} from './xlsx.js';
export type { ClueListOptions, SheetColumn, CellValue } from './xlsx.js';
export { LAND_COVER_LABELS, landCoverLabel, TRANSITION_LABEL } from './labels.js';
export { renderChipPair, computeStretch, DEFAULT_RGB, FALLBACK_STRETCH } from './chips.js';
export type { BandStretch, ChipOptions } from './chips.js';
export { scorePatches, polygonArea } from './score.js';
export type { ScoredPatch, TruthFeature, Score, TypeScore, FalsePatch, ScoreOptions } from './score.js';
