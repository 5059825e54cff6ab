/**
 * Vocabulary of the compensation-farmland (补充耕地) audit: project types of the register and the
 * case types (TBLX) its findings become in the ledger.
 */

/** Kinds of 补充耕地 project, by the land they turn into cropland. */
export const PROJECT_TYPES = {
  pond_ditch: { label: '坑塘沟渠复垦', aliases: ['坑塘复垦', '沟渠复垦', '坑塘沟渠复垦', '坑塘水面复垦'] },
  unused: { label: '未利用地开发', aliases: ['未利用地开发', '宜耕后备资源开发', '荒地开发', '裸地开发'] },
  construction: { label: '建设用地复垦', aliases: ['建设用地复垦', '工矿废弃地复垦', '农村建设用地复垦', '城乡建设用地增减挂钩'] },
  consolidation: { label: '土地整理', aliases: ['土地整理', '土地整治', '农用地整理', '高标准农田建设'] },
  other_agri: { label: '其他农用地开发', aliases: ['其他农用地开发', '园地开发', '残次林地开发', '即可恢复地类恢复'] },
} as const;
export type ProjectType = keyof typeof PROJECT_TYPES;
export const PROJECT_TYPE_NAMES = Object.keys(PROJECT_TYPES) as ProjectType[];

/** A type code or one of its Chinese names → the code; null when unknown. */
export function parseProjectType(v: string): ProjectType | null {
  const s = v.trim();
  if ((PROJECT_TYPE_NAMES as string[]).includes(s)) return s as ProjectType;
  for (const t of PROJECT_TYPE_NAMES) if ((PROJECT_TYPES[t].aliases as readonly string[]).includes(s) || PROJECT_TYPES[t].label === s) return t;
  return null;
}

/** Case types (TBLX) of audit findings, with their Chinese labels (图斑类型). */
export const FINDING_TYPES = {
  compensation_existing_cropland: '补充耕地核查-存量耕地(立项前已是耕地)',
  compensation_still_woody: '补充耕地核查-验收后仍为园地/林地',
  compensation_still_water: '补充耕地核查-验收后仍为水面',
  compensation_still_built: '补充耕地核查-验收后仍为建设用地/设施',
  compensation_no_works: '补充耕地核查-无施工迹象',
  compensation_overlap: '补充耕地核查-重复立项(重叠)',
  compensation_protected_zone: '补充耕地核查-位于生态保护红线/保护区',
  compensation_steep_slope: '补充耕地核查-坡度大于25度',
} as const;
export type FindingType = keyof typeof FINDING_TYPES;
export const FINDING_TYPE_NAMES = Object.keys(FINDING_TYPES) as FindingType[];

/** Findings that say the whole parcel is not new cropland (the whole claimed area is deducted). */
export const WHOLE_PARCEL_FINDINGS: ReadonlySet<FindingType> = new Set([
  'compensation_existing_cropland',
  'compensation_still_woody',
  'compensation_still_water',
  'compensation_still_built',
  'compensation_no_works',
]);
