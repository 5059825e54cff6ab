/**
 * Plain, cloneable data shared by every stage. No class instances, handles or paths cross a
 * stage boundary: rasters are typed arrays with their window, vectors are GeoJSON.
 */

/** A pixel window in a grid's pixel space. `col`/`row` may be negative or exceed the grid (halo). */
export interface Window {
  readonly col: number;
  readonly row: number;
  readonly width: number;
  readonly height: number;
}

/**
 * GDAL-order affine geotransform:
 * x = t[0] + col * t[1] + row * t[2];  y = t[3] + col * t[4] + row * t[5]  (pixel corner coordinates).
 */
export type GeoTransform = readonly [number, number, number, number, number, number];

/** A coordinate reference system. `proj4` is null when the CRS is known only by a code we cannot project. */
export interface Crs {
  readonly epsg: number | null;
  readonly proj4: string | null;
  /** Human-readable label, e.g. "EPSG:4528" or "custom (user-defined GeoKeys)". */
  readonly name: string;
}

/** A georeferenced pixel grid. */
export interface Grid {
  readonly width: number;
  readonly height: number;
  readonly transform: GeoTransform;
  readonly crs: Crs;
}

/** An axis-aligned box in a named CRS. */
export interface BBox {
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
  readonly crs: Crs;
}

/**
 * Bands of a window, scaled to surface reflectance (0..1 nominal) with the scene's scale/offset.
 * `data[i]` belongs to `bandNames[i]`; each is row-major, `window.width * window.height` long.
 * `valid[p]` is 1 where every band holds data (not NoData, not NaN, inside the image).
 */
export interface RasterBlock {
  readonly window: Window;
  readonly bandNames: readonly string[];
  readonly data: readonly Float32Array[];
  readonly valid: Uint8Array;
}

/**
 * Land-cover classes that models map their outputs to. Codes are stable: they are written to
 * rasters and used by the change rules in config.
 */
export const LandCover = {
  nodata: 0,
  water: 1,
  /** Closed woody canopy: forest, dense plantations. */
  tree: 2,
  /** Open woody cover: orchards, nurseries, young plantations (crowns with gaps). */
  orchard: 3,
  /** Green herbaceous cover: crops, grass. */
  herbaceous: 4,
  /** Cultivated or fallow soil: harvested, ploughed, sown fields. */
  bare: 5,
  /** Freshly moved bright soil: digging, filling, piles (推填土). */
  disturbed: 6,
  /** Roofs, concrete, asphalt: impervious surfaces. */
  built: 7,
  /** Plastic film, greenhouses. */
  greenhouse: 8,
  cloud: 9,
  shadow: 10,
} as const;
export type LandCoverName = keyof typeof LandCover;
export type LandCoverCode = (typeof LandCover)[LandCoverName];
export const LAND_COVER_NAMES: readonly LandCoverName[] = Object.keys(LandCover) as LandCoverName[];
export const landCoverName = (code: number): LandCoverName =>
  LAND_COVER_NAMES.find((n) => LandCover[n] === code) ?? 'nodata';

/** Land cover of one window: a class code and a confidence (0..1) per pixel. */
export interface LandCoverBlock {
  readonly window: Window;
  readonly classes: Uint8Array;
  readonly confidence: Float32Array;
}

/** Context every stage receives. */
export interface StageContext {
  readonly signal?: AbortSignal;
  readonly log: Logger;
  readonly now: () => number;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Change types reported against a baseline. Codes are the values of `change.tif`
 * (0 = no change); names are TBLX values in every export.
 */
export const ChangeType = {
  occupation_building: 1,
  occupation_road: 2,
  occupation_soil: 3,
  outflow_orchard: 4,
  outflow_forest: 5,
  outflow_grass: 6,
  outflow_pond: 7,
  outflow_greenhouse: 8,
} as const;
export type ChangeTypeName = keyof typeof ChangeType;
export const CHANGE_TYPE_NAMES: readonly ChangeTypeName[] = Object.keys(ChangeType) as ChangeTypeName[];

/** Chinese labels (图斑类型) used in clue lists. */
export const CHANGE_TYPE_LABELS: Readonly<Record<ChangeTypeName, string>> = {
  occupation_building: '违法占用-建(构)筑物/硬化',
  occupation_road: '违法占用-道路',
  occupation_soil: '违法占用-推填土/动土',
  outflow_orchard: '耕地流出-园地',
  outflow_forest: '耕地流出-林地',
  outflow_grass: '耕地流出-草地',
  outflow_pond: '耕地流出-坑塘',
  outflow_greenhouse: '耕地流出-设施农用地',
};

/** A polygon in some CRS: outer ring first, then holes; rings closed (first point repeated last). */
export type PolygonCoords = number[][][];

/**
 * One detected change patch. Geometry is in the image CRS (`geometry`) and in CGCS2000
 * longitude/latitude (`geometryLonLat`); attributes use the national change-layer field names.
 */
export interface Patch {
  readonly geometry: PolygonCoords[];
  readonly geometryLonLat: PolygonCoords[];
  readonly attributes: PatchAttributes;
}

export interface PatchAttributes {
  /** 监测图斑编号: region code + year + quarter + sequence. */
  JCBH: string;
  /** Change type; `transition` when no baseline was given. */
  TBLX: ChangeTypeName | 'transition';
  /** Chinese label of TBLX. */
  TBLXMC: string;
  XZQDM: string | null;
  XZQMC: string | null;
  /** 村 (village), from ZLDWMC of the baseline, where known. */
  CJMC: string | null;
  QSX: string | null;
  HSX: string | null;
  DLBM: string | null;
  DLMC: string | null;
  /** Land cover before (前时相地类) and after (现状地类). */
  QSDL: LandCoverName;
  XZDL: LandCoverName;
  /** Ellipsoidal area in m² and 亩. */
  MJ: number;
  MJM: number;
  GDMJ: number;
  YJJBNTMJ: number;
  /** Centroid in the image CRS (Gauss–Krüger metres for CGCS2000 scenes) and in longitude/latitude. */
  ZXX: number;
  ZXY: number;
  JD: number;
  WD: number;
  /** Approval or filing number covering the patch; then `HF` is true. */
  PZWH: string | null;
  /** 合法: covered by approved construction land or a facility-agriculture filing. */
  HF: boolean;
  /** Touches permanent basic farmland (永久基本农田). */
  SFJBNT: boolean;
  /** 置信度 in 0..1. */
  ZXD: number;
  /** Pixels in the patch. */
  pixelCount: number;
  /** Evidence chip paths relative to the run folder. */
  chipBefore: string | null;
  chipAfter: string | null;
}
