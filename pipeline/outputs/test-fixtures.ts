/** Builders shared by the outputs tests. */
import type { Patch, PatchAttributes, PolygonCoords } from '../types.js';

/** A square ring [x0,y0]–[x0+s,y0+s], counter-clockwise (or clockwise with `cw`), closed. */
export function square(x0: number, y0: number, s: number, cw = false): number[][] {
  const r = [
    [x0, y0],
    [x0 + s, y0],
    [x0 + s, y0 + s],
    [x0, y0 + s],
    [x0, y0],
  ];
  return cw ? r.reverse() : r;
}

/** A patch with plausible attributes; `attrs` overrides. */
export function makePatch(attrs: Partial<PatchAttributes> = {}, lonLat?: PolygonCoords[]): Patch {
  const a: PatchAttributes = {
    JCBH: '3207232026Q10001',
    TBLX: 'occupation_building',
    TBLXMC: '违法占用-建(构)筑物/硬化',
    XZQDM: '320723001',
    XZQMC: '青口镇',
    CJMC: '大村',
    QSX: '2025-10-12',
    HSX: '2026-01-15',
    DLBM: '0103',
    DLMC: '旱地',
    QSDL: 'herbaceous',
    XZDL: 'built',
    MJ: 1234.5678,
    MJM: 1234.5678 / (2000 / 3),
    GDMJ: 1200.004,
    YJJBNTMJ: 0,
    ZXX: 40512345.67891,
    ZXY: 3812345.12345,
    JD: 119.123456789,
    WD: 34.987654321,
    PZWH: null,
    HF: false,
    SFJBNT: false,
    ZXD: 0.87654,
    pixelCount: 309,
    chipBefore: 'chips/3207232026Q10001_before.png',
    chipAfter: 'chips/3207232026Q10001_after.png',
    ...attrs,
  };
  const geo = lonLat ?? [[square(119.12, 34.98, 0.001)]];
  return { geometry: [[square(512000, 3812000, 30)]], geometryLonLat: geo, attributes: a };
}
