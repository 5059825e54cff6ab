/**
 * Realistic ledger cases near Jiangyan, Taizhou (Jiangsu, ~120.1°E 32.5°N, Gauss–Krüger zone 40):
 * a plain patch, one with a hole, a two-part case, text that stresses every escaping rule, and a
 * case with empty fields. MJ is computed here, independently of the writers, with GeographicLib on
 * the CGCS2000 ellipsoid.
 */
import proj4 from 'proj4';
import { ellipsoidalArea, MU_PER_M2 } from '../../pipeline/geo/area.js';
import { proj4ForEpsg } from '../../pipeline/geo/crs.js';
import type { ClueFeature, ClueFields } from '../../ledger/export/types.js';

/** A rectangle ring in lon/lat, `w`×`h` metres at (lon, lat), counter-clockwise, closed. */
export function rect(lon: number, lat: number, w: number, h: number): number[][] {
  const dLon = w / (111_320 * Math.cos((lat * Math.PI) / 180));
  const dLat = h / 110_574;
  return [
    [lon, lat],
    [lon + dLon, lat],
    [lon + dLon, lat + dLat],
    [lon, lat + dLat],
    [lon, lat],
  ];
}

const gk40 = proj4(proj4ForEpsg(4490)!, proj4ForEpsg(4528)!);

/** Fields derived from the geometry (areas, centroids) plus `attrs`. */
export function makeCase(geometryLonLat: number[][][][], attrs: Partial<ClueFields> & { JCBH: string }): ClueFeature {
  const mj = geometryLonLat.reduce((s, poly) => s + ellipsoidalArea(poly), 0);
  // Vertex mean of the first outer ring: a plausible centroid is all these fields need.
  const outer = geometryLonLat[0][0].slice(0, -1);
  const jd = outer.reduce((s, p) => s + p[0], 0) / outer.length;
  const wd = outer.reduce((s, p) => s + p[1], 0) / outer.length;
  const [zxx, zxy] = gk40.forward([jd, wd]);
  const fields: ClueFields = {
    TBLX: 'occupation_building',
    TBLXMC: '违法占用-建(构)筑物/硬化',
    XZQDM: '321204101',
    XZQMC: '溱潼镇',
    CJMC: '湖南村',
    QSX: '2025-10-12',
    HSX: '2026-01-15',
    DLBM: '0101',
    DLMC: '水田',
    XZDL: 'built',
    MJ: mj,
    MJM: mj * MU_PER_M2,
    GDMJ: mj * 0.9,
    YJJBNTMJ: 0,
    ZXX: zxx,
    ZXY: zxy,
    JD: jd,
    WD: wd,
    PZWH: null,
    ZXD: 0.8765,
    SFJBNT: false,
    ZT: '待核查',
    HCJG: null,
    ZGZT: null,
    QX: null,
    ...attrs,
  };
  return { geometryLonLat, fields };
}

const LON = 120.1;
const LAT = 32.5;

export const CASES: ClueFeature[] = [
  makeCase([[rect(LON, LAT, 60, 45)]], { JCBH: '3212042026Q10001' }),
  // A fish pond dug in paddy, with an island left standing (the hole).
  makeCase([[rect(LON + 0.01, LAT, 120, 90), rect(LON + 0.01 + 0.0003, LAT + 0.0002, 30, 25).reverse()]], {
    JCBH: '3212042026Q10002',
    TBLX: 'outflow_pond',
    TBLXMC: '耕地流出-坑塘水面',
    XZDL: 'water',
    XZQDM: '321204102',
    XZQMC: '俞垛镇',
    CJMC: '角墩村',
    SFJBNT: true,
    YJJBNTMJ: 5000.5,
    ZT: '已下发',
    QX: '2026-03-31',
  }),
  // Two fields of the same idle new-farmland project, 200 m apart: one case, two parts.
  makeCase([[rect(LON + 0.02, LAT + 0.01, 50, 40)], [rect(LON + 0.0225, LAT + 0.01, 35, 35)]], {
    JCBH: '3212042026Q10003',
    TBLX: 'idle_new_farmland',
    TBLXMC: '补充耕地闲置撂荒',
    XZDL: 'bare',
    DLBM: '0103',
    DLMC: '旱地',
    ZT: '违法',
    HCJG: '违法(新增)',
    ZGZT: '整改中',
    QX: '2026-04-30',
  }),
  // Text that breaks naive writers: commas, quotes, <&>, line break, long Chinese text near 254 bytes.
  makeCase([[rect(LON + 0.03, LAT + 0.02, 40, 30)]], {
    JCBH: '3212042026Q10004',
    ZT: '合法',
    HCJG: '合法',
    PZWH: '苏政地〔2025〕第12号, "批次" <A&B>',
    CJMC: '溱湖村\n二组',
    DLMC: '水田'.repeat(40), // 240 bytes of UTF-8
  }),
  // Nothing known but the essentials.
  makeCase([[rect(LON - 0.01, LAT - 0.01, 25, 25)]], {
    JCBH: '3212042026Q10005',
    XZQDM: null,
    XZQMC: null,
    CJMC: null,
    QSX: null,
    HSX: null,
    DLBM: null,
    DLMC: null,
    XZDL: null,
  }),
];
