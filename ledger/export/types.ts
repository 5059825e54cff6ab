/**
 * The contract between the ledger and its exports: the ledger turns cases into these records, the
 * export writers turn records into files. Field names follow the national change-layer dictionaries
 * (DOMAIN.md, "Patch attributes a clue list carries"); the writers add the Chinese headers.
 */

/** One case as exported: its current geometry and attributes. */
export interface ClueFeature {
  /** MultiPolygon, EPSG:4490 lon/lat, rings closed, outer first. */
  geometryLonLat: number[][][][];
  fields: ClueFields;
}

export interface ClueFields {
  JCBH: string;
  TBLX: string;
  TBLXMC: string;
  XZQDM: string | null;
  XZQMC: string | null;
  CJMC: string | null;
  QSX: string | null;
  HSX: string | null;
  DLBM: string | null;
  DLMC: string | null;
  XZDL: string | null;
  MJ: number;
  MJM: number;
  GDMJ: number;
  YJJBNTMJ: number;
  ZXX: number;
  ZXY: number;
  JD: number;
  WD: number;
  PZWH: string | null;
  ZXD: number;
  SFJBNT: boolean;
  /** Lifecycle state, Chinese. */
  ZT: string;
  /** Ruling. */
  HCJG: string | null;
  /** Rectification state. */
  ZGZT: string | null;
  /** Deadline yyyy-mm-dd. */
  QX: string | null;
}

/** One township-year of the in–out balance (进出平衡); all areas ellipsoidal m². */
export interface BalanceRow {
  XZQDM: string;
  XZQMC: string;
  year: number;
  /** Cropland turned out, by target class label. */
  outConfirmedM2: Record<string, number>;
  outPendingM2: Record<string, number>;
  inConfirmedM2: number;
  inPendingM2: number;
  paddyOutConfirmedM2: number;
  paddyOutPendingM2: number;
  paddyInConfirmedM2: number;
  paddyInPendingM2: number;
}
