/** Chinese labels used in exported lists. */
import type { LandCoverName } from '../types.js';

/**
 * Chinese names of the land-cover classes, shown as 前时相地类 / 现状地类 in clue lists. The
 * "(耕作)" suffix tells the township that bare soil or green cover is what a cultivated field looks
 * like, so the clerk does not read "裸土" as construction.
 */
export const LAND_COVER_LABELS: Readonly<Record<LandCoverName, string>> = {
  nodata: '无数据',
  water: '水面',
  tree: '乔木林',
  orchard: '园地/疏林',
  herbaceous: '草本植被(耕作)',
  bare: '裸土(耕作)',
  disturbed: '推填土',
  built: '建筑/硬化',
  greenhouse: '大棚/设施',
  cloud: '云',
  shadow: '阴影',
};

/** Chinese label of a land-cover class name; unknown names are returned unchanged. */
export const landCoverLabel = (name: string): string =>
  (LAND_COVER_LABELS as Record<string, string>)[name] ?? name;

/** 图斑类型 label of `transition` patches (runs without a baseline). */
export const TRANSITION_LABEL = '地类变化';
