/**
 * Renders card.md from the validated card and the rule table, so the human-readable card always
 * shows the thresholds the graph actually uses.
 */
import type { ModelCard } from '../../pipeline/classify/card.js';
import { CLASS_RULES, CONFIDENCE_FLOOR, FEATURES, INDEX_EPSILON, TERMS } from './rules.js';

/** Escapes a table cell (feature formulas contain |x|). */
const cell = (v: unknown) => String(v).replace(/\|/g, '\\|');
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)} %`);

/** Hand-written sections (physics notes, limitations, references) that do not come from data. */
const NOTES = `## Input expectations
- **Surface reflectance** (0..1) in blue, green, red, NIR, any sensor at 2–30 m (GF-1/2, BJ-2, ZY-3, Sentinel-2 10 m, Landsat 30 m).
  TOA reflectance works less well: path radiance adds ≈ 0.03–0.07 to blue and green and the brightness
  rules (water, shadow, topsoil vs subsoil, canopy darkness) shift. A dark-object subtraction is the
  minimum correction (see metrics: TOA vs DOS).
- Pixels whose four bands are all ≤ 0 are no-data for the texture windows; the stage also forces
  \`valid = 0\` pixels to class 0 with confidence 0.
- Texture uses a 5×5 window: give tiles a halo of \`contextPx\` = 2 pixels.

## How it decides
Each class has a membership in 0..1: the product (fuzzy AND) of logistic terms, with max for OR and
1 − x for NOT. \`confidence\` = winning membership / (sum of all memberships + ${CONFIDENCE_FLOOR}); the
${CONFIDENCE_FLOOR} is a residual "no rule applies" mass, so a pixel where nothing fits well gets low
confidence instead of 1. \`label\` is the LandCover code of the largest membership. Index denominators
carry ε = ${INDEX_EPSILON} (≈ twice the noise-equivalent reflectance), which keeps ratios of near-black
pixels bounded.

## Known limitations (read before trusting a class)
- **Orchard needs resolved crowns** (≲ 5 m pixels). At 10–30 m the texture window covers whole
  fields: orchards fall to tree/herbaceous, and heterogeneous landscapes can produce orchard along
  boundaries even with the boundary test. Do not raise \`outflow_orchard\` from 10–30 m imagery
  without another cue.
- **Tree vs herbaceous** rests on crown shade (5×5 mean visible SR < 0.03) at any resolution and,
  where crowns are resolved (≲ 5 m), on crown texture (5×5 NIR coefficient of variation > 0.2,
  not a straight boundary). At 10–30 m only the shade test acts: bright, open broadleaf stands and
  dark meadows overlap, and it moves with any error in the atmospheric correction (≈ 0.01 of
  residual path radiance shifts it noticeably; see TOA metrics). Closed canopy also needs a
  window NDVI mean > 0.6, which haze or a bad relative normalisation pulls down.
- **Bright surfaces**: new concrete or white roofs brighter than ≈ 0.3 can be called cloud (the
  classic Fmask confusion), and snow is cloud (there is no snow class). Red-tile roofs and rusty
  iron are reddish and fall to bare/disturbed.
- **Disturbed vs bare** is brightness only: dry, bright, low-organic farmland soils (e.g. loess in
  spring) can be called disturbed. The change stage should require persistence or a baseline.
- **Greenhouse vs built**: a bright (visible SR > 0.12), flat pixel with NDVI > 0.1 is read as film
  over crops, because bare built materials keep NIR ≤ ≈ 1.2 × red. Dusty concrete or roofs with a
  little vegetation in the pixel can therefore be called greenhouse; solar panels (dark, bluish)
  will be built or shadow.
- **Red clay tiles** are fired iron oxide, spectrally soil (reddish, NDVI ≈ 0.2): red-tile roofs
  fall to bare/disturbed. Fresh asphalt (red/blue ≈ 1.3, as dark as moist topsoil) sits on the
  soil/grey boundary and splits between built and bare.
- **Very turbid or algal water** (NIR > 0.07, NDWI < 0.1 or NDVI > 0.1, e.g. fish ponds in bloom)
  can be missed: the water rule trades them for not calling dark asphalt and roofs water.
- **Cloud shadow** must cover the 5×5 window (window NIR mean < 0.15); narrow building and tree
  shadows at ≤ 5 m keep the class of the ground they fall on (often built or herbaceous).
- Thin cloud and haze are not a class: hazy pixels become greenhouse/built/cloud depending on
  brightness (thin cloud over vegetation reads as film, over bare soil as built). Mask clouds
  upstream where a better mask exists. Per-pixel cloud stays at visible SR > 0.3, so white roofs
  near 0.3 can be called cloud; the change stage, not the pixel rule, tells them apart by size.

## What the real-data check changed (and what it did not)
The first draft was written from the literature before looking at any labelled pixel. Running it on
the Slovenian scenes showed two systematic errors, both fixed by changing the physics, not by
moving thresholds until the score rose:
1. *Canopy darkness.* The draft called a canopy woody when NIR < 0.30 **and** green < 0.06
   ("darker than crops"). Meadows are darker than peak crops (NIR ≈ 0.29, green ≈ 0.045 there), so
   grassland landed on the forest side (grassland recall 0.43, overall 80.0 %). Crown shade darkens
   the visible far more than the NIR (NIR multiple scattering fills shadows), so the rule now uses
   visible brightness, with the threshold at the top of the published closed-forest range (0.03):
   overall 87.1 %.
2. *Texture as a woody cue.* The draft also accepted rough NDVI texture (5×5 std > 0.05) as woody.
   At 10 m that fired in 30–50 % of grassland windows (hedges, tracks, mixed parcels): it measures
   landscape heterogeneity, not crowns. Texture was removed from the tree rule, and crown shade is
   read as the 5×5 window mean (shade fraction belongs to an area holding several crowns, and at
   2 m sunlit crown tops alone are as bright as crops): overall 90.5 %.
3. *Sample-county check (after the Slovenian one).* On the synthetic county's true land cover
   (\`models/eval/sample-confusion.ts\`) asphalt and roofs passed the water test, crown-shaded
   forest was orchard/herbaceous, self-shaded crown pixels were cloud shadow, film was built. The
   fixes are physical (water's NIR absorption, resolved crown texture, window-scale shadow and
   canopy illumination, blue paint, film brightness), each checked to leave the Slovenian scenes
   at ≥ 90.5 %. One literature-motivated move was rejected by that check: putting the crown-shade
   threshold in the middle of the forest/crop gap (0.036) made half the Slovenian meadows tree.
4. *Change-level check on the sample county.* Painted blue steel tied with herbaceous (NDVI ≈ 0.4):
   herbaceous now excludes bright, strongly blue pixels (chlorophyll absorbs blue; only skylit or
   hazy vegetation is bluish, and then dark in blue). New film tied with built (NDVI ≈ 0.13): built
   now excludes bright flat pixels whose NIR is clearly above red (film over crops). Raising the
   per-pixel cloud threshold to 0.4 (optically thick cloud) was rejected: semi-transparent cloud
   then became built, which the change stage does not mask. Slovenian scenes unchanged (90.9 %).
The orchard boundary guard (plane R²) was designed on ideal patterns (straight, diagonal and
offset boundaries vs 2–3 px crown grids), not on these data. No threshold was varied to optimise
a score, and the Chesapeake patches were not used to change anything.

## References
- Baret, Jacquemoud & Hanocq (1993) The soil line concept in remote sensing. Remote Sens. Rev. 7.
- Baumgardner et al. (1985) Reflectance properties of soils. Adv. Agronomy 38.
- Chavez (1988, 1996) Improved dark-object subtraction; Image-based atmospheric corrections revisited. RSE 24; PERS 62.
- Doxaran, Froidefond, Lavender & Castaing (2002) Spectral signature of highly turbid waters. RSE 81.
- Escadafal (1993) Remote sensing of soil color. Mathieu et al. (1998) Relationships between satellite-based radiometric indices simulated using laboratory reflectance data and typic soil color of an arid environment. RSE 66.
- Hall, Shimabukuro & Huemmrich (1995) Remote sensing of forest biophysical structure using mixture decomposition and geometric reflectance models. Ecol. Appl. 5.
- Haralick, Shanmugam & Dinstein (1973) Textural features for image classification. IEEE SMC 3.
- Herold, Roberts, Gardner & Dennison (2004) Spectrometry for urban area remote sensing. RSE 91.
- Huete (1988) A soil-adjusted vegetation index (SAVI). RSE 25.
- Ji, Zhang & Wylie (2009) Analysis of dynamic thresholds for the normalized difference water index. PERS 75.
- Li & Strahler (1985) Geometric-optical modeling of a conifer forest canopy. IEEE TGRS 23.
- Lobell & Asner (2002) Moisture effects on soil reflectance. SSSAJ 66.
- McFeeters (1996) The use of the Normalized Difference Water Index (NDWI). IJRS 17.
- Richardson & Wiegand (1977) Distinguishing vegetation from soil background information. PERS 43.
- Wulder, LeDrew, Franklin & Lavigne (1998) Aerial image texture information in the estimation of northern deciduous and mixed wood forest LAI. RSE 64.
- Xu (2006) Modification of NDWI to enhance open water features (MNDWI). IJRS 27.
- USGS, "NDVI, the foundation for remote sensing phenology" (NDVI ranges for bare, sparse and dense cover).
- Zhang, Guindon & Cihlar (2002) An image transform to characterize and compensate for spatial variations in thin cloud contamination of Landsat images (HOT). RSE 82.
- Zhu & Woodcock (2012) Object-based cloud and cloud shadow detection in Landsat imagery (Fmask). RSE 118.
`;

/** card.md text. */
export function renderCardMarkdown(card: ModelCard, info: { opset: number; measuredNow: boolean }): string {
  const lines: string[] = [];
  lines.push(`# ${card.id} ${card.version} (${card.kind})`, '', card.description, '');
  lines.push('| | |', '|---|---|');
  lines.push(`| file | \`model.onnx\`, ONNX opset ${info.opset}, standard ops only |`);
  lines.push(`| sha256 | \`${card.sha256}\` |`);
  lines.push(`| input | \`${card.input.name}\` float32 NCHW [1, ${card.input.bands.length}, H, W], bands ${card.input.bands.map((b) => b.name).join(', ')}, surface reflectance 0..1, any H×W |`);
  const outputs = card.outputs;
  if ('label' in outputs) lines.push(`| outputs | \`${outputs.label.name}\` ${outputs.label.dtype} [1, H, W] LandCover codes; \`${outputs.confidence.name}\` ${outputs.confidence.dtype} [1, H, W] in 0..1 |`);
  lines.push(`| context | ${card.contextPx} px halo (5×5 texture window) |`);
  lines.push(`| licence | ${card.licence} |`, '');

  lines.push('## Classes', '', '| code | class | rule (reading) | feeds change types |', '|---|---|---|---|');
  for (const c of card.classes) {
    const rule = CLASS_RULES.find((r) => r.code === c.code);
    lines.push(`| ${c.code} | ${c.name} | ${rule?.reading ?? ''} | ${c.feedsChangeTypes.join(', ') || '– (context only)'} |`);
  }
  lines.push('', 'Bare (cultivated soil) feeds no change type on cropland: ploughed and harvested fields are cropland. It matters for idle-farmland checks.', '');

  lines.push('## Features', '', '| feature | definition |', '|---|---|');
  for (const [k, v] of Object.entries(FEATURES)) lines.push(`| ${k} | ${cell(v)} |`);
  lines.push('');

  lines.push('## Thresholds and why', '', 'Membership σ((x − at)/width) for "above", σ((at − x)/width) for "below".', '', '| term | feature | side | at | width | justification |', '|---|---|---|---|---|---|');
  for (const t of Object.values(TERMS)) lines.push(`| ${t.id} | ${t.feature} | ${t.side} | ${t.at} | ${t.width} | ${cell(t.why)} |`);
  lines.push('');

  lines.push('## Measured on real data', '');
  lines.push(
    info.measuredNow
      ? 'Numbers below were measured by `build.ts` on this exact model file and are re-checked by `pipeline/classify/real-data.test.ts`.'
      : 'The shared data folder was absent at build time: the metrics below are carried over from the previous build.',
    '',
    '**These are sanity checks, not an evaluation protocol**: four small patches from two places, labels in other schemes mapped onto ours, 10 m pixels where texture rules barely act, and NAIP that is not reflectance. Proper training and evaluation data is a later issue.',
    '',
  );
  for (const m of card.metrics) {
    lines.push(`### ${m.dataset}`, '', m.protocol, '', `Overall accuracy **${pct(m.overallAccuracy)}** on ${m.pixels} pixels.`, '');
    lines.push('| reference class | accepted as | support | recall |', '|---|---|---|---|');
    for (const [ref, r] of Object.entries(m.perReference)) lines.push(`| ${ref} | ${r.accepted.join(' / ')} | ${r.support} | ${pct(r.recall)} |`);
    lines.push('', '| predicted class | pixels | precision |', '|---|---|---|');
    for (const [cls, p] of Object.entries(m.perPredicted)) lines.push(`| ${cls} | ${p.count} | ${pct(p.precision)} |`);
    const predicted = [...new Set(Object.values(m.confusion).flatMap((r) => Object.keys(r)))];
    lines.push('', `Confusion (rows reference, columns predicted):`, '', `| | ${predicted.join(' | ')} |`, `|---|${predicted.map(() => '---').join('|')}|`);
    for (const [ref, row] of Object.entries(m.confusion)) lines.push(`| ${ref} | ${predicted.map((p) => row[p] ?? 0).join(' | ')} |`);
    lines.push('');
  }
  lines.push(NOTES);
  return lines.join('\n');
}
