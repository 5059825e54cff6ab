/**
 * Audit findings as pure functions from typed data to typed data:
 * - imagery (issue 8, item 2): for each project, the land cover seen inside its parcel on the last
 *   usable scene before the start of works (KGRQ) and the first usable scene after acceptance
 *   (YSRQ), from idle monitoring's parcel observations (the pipeline classifier's cover groups and
 *   NDVI); rules 存量耕地 (already cropland), still orchard/forest, water or built after acceptance,
 *   and no visible works;
 * - geometry (item 3): overlaps between projects, area inside protected zones, area on slopes over
 *   25° (audit/geometry.ts), turned into findings with the area they take off the indicator.
 */
import type { CoverGroup, ParcelObservation } from '../pipeline/idle/observe.js';
import { COVER_GROUPS } from '../pipeline/idle/observe.js';
import type { PolygonCoords } from '../pipeline/types.js';
import { expectedBefore, type AuditConfig } from './config.js';
import type { OverlapAudit, SlopeAudit, ZoneAudit } from './geometry.js';
import { FINDING_TYPES, WHOLE_PARCEL_FINDINGS, type FindingType } from './types.js';
import type { ProjectType } from './types.js';

/** What the audit needs to know of a project. */
export interface AuditProject {
  xmbh: string;
  xmlx: ProjectType | null;
  xzqdm: string | null;
  /** Claimed new cropland (XZGDMJ; the declared area for projects imported without the full register) and its paddy part, m². */
  claimedM2: number;
  paddyM2: number;
  /** Parcel area, m² (ellipsoidal). */
  areaM2: number;
  lxrq: string | null;
  kgrq: string | null;
  ysrq: string | null;
}

/** One observation as evidence: date, scene, cover fractions, median NDVI. */
export interface ObservationEvidence {
  date: string;
  scene: string;
  cover: Record<CoverGroup, number> | null;
  ndvi: number | null;
  clearFraction: number;
}

export interface Finding {
  type: FindingType;
  /** Chinese label (TBLXMC). */
  label: string;
  xmbh: string;
  /** The earlier project of an overlap, the zone layer; '' otherwise. */
  subject: string;
  /** The rule that fired, with its numbers. */
  rule: string;
  /** Area of the finding, m² (ellipsoidal). */
  areaM2: number;
  /** Claimed new cropland it takes off the project's indicator, and the paddy part, m². */
  deductM2: number;
  deductPaddyM2: number;
  evidence: Record<string, unknown>;
  /** Evidence chips (date, scene, file), filled in by the I/O edge. */
  chips: { date: string; scene: string; path: string }[];
  /** Geometry of a part-parcel finding (overlap) in CGCS2000 lon/lat; null = the project's parcel. */
  geometryLonLat: PolygonCoords[] | null;
}

/** The observations an imagery audit of one project rests on. */
export interface PickedObservations {
  before: ParcelObservation | null;
  after: ParcelObservation | null;
  /** Usable observations between the start and the acceptance (works in progress). */
  between: ParcelObservation[];
  /** Why a side is missing. */
  notes: string[];
}

const DAY = 86_400_000;
const days = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / DAY);
const r2 = (v: number) => Math.round(v * 100) / 100;
const r4 = (v: number) => Math.round(v * 1e4) / 1e4;

/** Picks the last usable observation before KGRQ and the first usable one after YSRQ (within the config's windows). */
export function pickObservations(p: AuditProject, obs: readonly ParcelObservation[], cfg: AuditConfig): PickedObservations {
  const mine = obs.filter((o) => o.parcel === p.xmbh && o.usable).sort((a, b) => a.date.localeCompare(b.date) || a.scene.localeCompare(b.scene));
  const notes: string[] = [];
  let before: ParcelObservation | null = null;
  let after: ParcelObservation | null = null;
  if (!p.kgrq) notes.push('no start date (KGRQ): no scene before the project can be chosen');
  else {
    before = [...mine].reverse().find((o) => o.date < p.kgrq! && days(o.date, p.kgrq!) <= cfg.maxDaysBeforeStart) ?? null;
    if (!before) notes.push(`no usable scene in the ${cfg.maxDaysBeforeStart} days before the start ${p.kgrq}`);
  }
  if (!p.ysrq) notes.push('not accepted (no YSRQ): nothing to check after acceptance');
  else {
    after = mine.find((o) => o.date > p.ysrq! && days(p.ysrq!, o.date) <= cfg.maxDaysAfterAcceptance) ?? null;
    if (!after) notes.push(`no usable scene in the ${cfg.maxDaysAfterAcceptance} days after acceptance ${p.ysrq}`);
  }
  const between = p.kgrq && p.ysrq ? mine.filter((o) => o.date >= p.kgrq! && o.date <= p.ysrq!) : [];
  return { before, after, between, notes };
}

export const evidenceOf = (o: ParcelObservation): ObservationEvidence => ({ date: o.date, scene: o.scene, cover: o.cover, ndvi: o.ndvi?.p50 ?? null, clearFraction: o.clearFraction });

const share = (o: ParcelObservation, groups: readonly CoverGroup[]) => groups.reduce((s, g) => s + (o.cover?.[g] ?? 0), 0);
const pct = (v: number) => `${Math.round(v * 100)} %`;

/** Half the L1 distance between two observations' cover fractions (0 = same mix, 1 = nothing in common). */
export function coverChange(a: ParcelObservation, b: ParcelObservation): number {
  let s = 0;
  for (const g of COVER_GROUPS) s += Math.abs((a.cover?.[g] ?? 0) - (b.cover?.[g] ?? 0));
  return s / 2;
}

/** Still non-cropland after acceptance: which group, if any holds the majority. */
const STILL: readonly { type: FindingType; groups: readonly CoverGroup[]; what: string }[] = [
  { type: 'compensation_still_woody', groups: ['woody'], what: 'orchard or forest (woody)' },
  { type: 'compensation_still_water', groups: ['water'], what: 'water' },
  { type: 'compensation_still_built', groups: ['built', 'greenhouse'], what: 'built or greenhouse' },
];

function wholeParcel(p: AuditProject, type: FindingType, rule: string, evidence: Record<string, unknown>): Finding {
  return {
    type,
    label: FINDING_TYPES[type],
    xmbh: p.xmbh,
    subject: '',
    rule,
    areaM2: r2(p.areaM2),
    deductM2: r2(p.claimedM2),
    deductPaddyM2: r2(p.paddyM2),
    evidence,
    chips: [],
    geometryLonLat: null,
  };
}

/**
 * The imagery findings of one project from its picked observations. 无施工迹象 (no works) is
 * reported only when neither 存量耕地 nor still-non-cropland fired: both already say no cropland was made.
 */
export function imageryFindings(p: AuditProject, picked: PickedObservations, cfg: AuditConfig): Finding[] {
  const out: Finding[] = [];
  const { before, after } = picked;
  const ev = { before: before ? evidenceOf(before) : null, after: after ? evidenceOf(after) : null, between: picked.between.map(evidenceOf), notes: picked.notes };
  if (before && p.xmlx && !cfg.croplandBeforeAllowed.includes(p.xmlx)) {
    const cropLike = share(before, ['green', 'bare']);
    const expected = expectedBefore(cfg, p.xmlx);
    const ndvi = before.ndvi?.p50 ?? null;
    const crop = ndvi !== null && ndvi >= cfg.cropNdvi;
    const contradicts = !expected.includes('green') && !expected.includes('bare');
    if (cropLike >= cfg.coverShare && (crop || contradicts))
      out.push(
        wholeParcel(
          p,
          'compensation_existing_cropland',
          `存量耕地: on ${before.date}, before the start ${p.kgrq}, ${pct(cropLike)} of the parcel was cropland cover (crops or tilled soil, ≥ ${pct(cfg.coverShare)})` +
            (crop ? ` with a growing crop (median NDVI ${ndvi!.toFixed(2)} ≥ ${cfg.cropNdvi})` : '') +
            (contradicts ? `, not the ${expected.join('/')} a ${p.xmlx} project reclaims` : ''),
          ev,
        ),
      );
  }
  if (after)
    for (const s of STILL) {
      const v = share(after, s.groups);
      if (v >= cfg.coverShare) {
        out.push(wholeParcel(p, s.type, `still ${s.what} after acceptance: on ${after.date} (accepted ${p.ysrq}) ${pct(v)} of the parcel is ${s.groups.join('+')} (≥ ${pct(cfg.coverShare)})`, ev));
        break;
      }
    }
  if (!out.length && before && after) {
    const dc = coverChange(before, after);
    const dn = Math.abs((after.ndvi?.p50 ?? 0) - (before.ndvi?.p50 ?? 0));
    const works = picked.between.find((o) => share(o, ['disturbed', 'bare']) >= cfg.coverShare);
    if (dc < cfg.noWorks.maxCoverChange && dn < cfg.noWorks.maxNdviChange && !works)
      out.push(
        wholeParcel(
          p,
          'compensation_no_works',
          `no visible works: ${before.date} (before the start) and ${after.date} (after acceptance) show the same cover (change ${r4(dc)} < ${cfg.noWorks.maxCoverChange}, |ΔNDVI| ${r4(dn)} < ${cfg.noWorks.maxNdviChange})` +
            (picked.between.length ? ` and no scene between shows moved or bare soil` : ''),
          { ...ev, coverChange: r4(dc), ndviChange: r4(dn) },
        ),
      );
  }
  return out;
}

/** The later booking of two: by approval date (LXRQ), then project ID. */
function later(a: AuditProject | undefined, b: AuditProject | undefined, ida: string, idb: string): [string, string] {
  const ka = `${a?.lxrq ?? '9999-12-31'}|${ida}`;
  const kb = `${b?.lxrq ?? '9999-12-31'}|${idb}`;
  return ka > kb ? [ida, idb] : [idb, ida];
}

/**
 * Geometry findings: an overlap is a finding of the later booking (its overlap area is not new
 * cropland), naming the earlier project; zone and slope findings take their area off the project.
 * `toLonLat` maps the overlap audit's CRS to CGCS2000 longitude/latitude.
 */
export function geometryFindings(
  projects: ReadonlyMap<string, AuditProject>,
  geo: { overlaps: OverlapAudit; zones: ZoneAudit | null; slope: SlopeAudit | null },
  cfg: AuditConfig,
  toLonLat: (x: number, y: number) => [number, number],
): Finding[] {
  const out: Finding[] = [];
  const deduct = (p: AuditProject | undefined, area: number) => {
    const d = Math.min(p?.claimedM2 ?? area, area);
    return { deductM2: r2(d), deductPaddyM2: r2(p && p.claimedM2 > 0 ? (d * p.paddyM2) / p.claimedM2 : 0) };
  };
  for (const o of geo.overlaps.overlaps) {
    if (o.areaM2 < cfg.minOverlapM2) continue;
    const [late, early] = later(projects.get(o.a), projects.get(o.b), o.a, o.b);
    const p = projects.get(late);
    out.push({
      type: 'compensation_overlap',
      label: FINDING_TYPES.compensation_overlap,
      xmbh: late,
      subject: early,
      rule: `重复立项: ${o.areaM2} m² (${o.areaMu} 亩) of ${late} were already booked by ${early} (approved earlier)`,
      areaM2: o.areaM2,
      ...deduct(p, o.areaM2),
      evidence: { a: o.a, b: o.b, parcelsA: o.parcelsA, parcelsB: o.parcelsB, areaMu: o.areaMu, crs: geo.overlaps.crs, areaMethod: geo.overlaps.areaMethod },
      chips: [],
      geometryLonLat: o.geometry.map((poly) => poly.map((ring) => ring.map(([x, y]) => toLonLat(x, y)))),
    });
  }
  if (geo.zones) {
    const byKey = new Map<string, { zone: string; project: string; inside: number; parcel: number; share: number; features: string[] }>();
    for (const h of geo.zones.hits) {
      const k = `${h.project}\u0000${h.zone}`;
      const e = byKey.get(k) ?? { zone: h.zone, project: h.project, inside: 0, parcel: 0, share: 0, features: [] };
      e.inside += h.insideAreaM2;
      e.parcel += h.parcelAreaM2;
      e.features.push(...h.zoneFeatures);
      byKey.set(k, e);
    }
    for (const e of byKey.values()) {
      if (e.inside < cfg.minZoneAreaM2) continue;
      out.push({
        type: 'compensation_protected_zone',
        label: FINDING_TYPES.compensation_protected_zone,
        xmbh: e.project,
        subject: e.zone,
        rule: `inside ${e.zone}: ${r2(e.inside)} m² (${pct(e.parcel > 0 ? e.inside / e.parcel : 0)} of the parcel) lie in ${[...new Set(e.features)].join(', ')}`,
        areaM2: r2(e.inside),
        ...deduct(projects.get(e.project), e.inside),
        evidence: { zone: e.zone, zoneFeatures: [...new Set(e.features)], parcelAreaM2: r2(e.parcel), share: r4(e.parcel > 0 ? e.inside / e.parcel : 0), crs: geo.zones.crs, areaMethod: geo.zones.areaMethod },
        chips: [],
        geometryLonLat: null,
      });
    }
  }
  if (geo.slope) {
    const s = geo.slope;
    const byProject = new Map<string, { steep: number; parcel: number; pixels: number; steepPixels: number; slopeSum: number; slopePixels: number }>();
    for (const q of s.parcels) {
      const e = byProject.get(q.project) ?? { steep: 0, parcel: 0, pixels: 0, steepPixels: 0, slopeSum: 0, slopePixels: 0 };
      e.steep += q.steepAreaM2;
      e.parcel += q.parcelAreaM2;
      e.pixels += q.pixels;
      e.steepPixels += q.steepPixels;
      if (Number.isFinite(q.meanSlopeDeg)) (e.slopeSum += q.meanSlopeDeg * q.slopePixels), (e.slopePixels += q.slopePixels);
      byProject.set(q.project, e);
    }
    for (const [xmbh, e] of byProject) {
      if (e.steep < cfg.minSteepAreaM2 || e.steep <= 0) continue;
      out.push({
        type: 'compensation_steep_slope',
        label: FINDING_TYPES.compensation_steep_slope,
        xmbh,
        subject: '',
        rule: `坡度 > ${s.thresholdDeg}°: ${r2(e.steep)} m² (${pct(e.parcel > 0 ? e.steep / e.parcel : 0)} of the parcel, ${e.steepPixels} of ${e.pixels} DEM pixels at ${s.resolutionM[0]}×${s.resolutionM[1]} m) ≥ ${cfg.minSteepAreaM2} m²`,
        areaM2: r2(e.steep),
        ...deduct(projects.get(xmbh), e.steep),
        evidence: {
          thresholdDeg: s.thresholdDeg,
          dem: s.dem,
          demCrs: s.demCrs,
          resolutionM: s.resolutionM,
          method: s.method,
          parcelAreaM2: r2(e.parcel),
          steepPixels: e.steepPixels,
          pixels: e.pixels,
          meanSlopeDeg: e.slopePixels ? Math.round((e.slopeSum / e.slopePixels) * 100) / 100 : null,
        },
        chips: [],
        geometryLonLat: null,
      });
    }
  }
  return out;
}

/** Whether a finding takes the whole parcel (its deduction is the claimed area). */
export const isWholeParcel = (f: Finding): boolean => WHOLE_PARCEL_FINDINGS.has(f.type);
