/**
 * spectral-v1: the fuzzy rule base, as data. `build.ts` compiles it into the ONNX graph and writes
 * the same table (thresholds and their reasons) into `card.md`, so the card cannot drift from the
 * model.
 *
 * Every threshold is a physical or published convention for surface reflectance (SR, 0..1), not a
 * value fitted to any sample. A term is a logistic membership `σ((x − at) / width)` (or its
 * mirror for `below`): 0.5 at `at`, 0.88 at `at ± 2·width`. Widths express how soft the
 * convention is; they are round numbers of the order of the natural scatter of the quantity.
 */
import { LandCover, type LandCoverName } from '../../pipeline/types.js';

/** Per-pixel quantities computed inside the graph (all from SR in 0..1). */
export const FEATURES = {
  blue: 'blue SR',
  green: 'green SR',
  red: 'red SR',
  nir: 'near-infrared SR',
  vis: 'visible brightness (blue + green + red) / 3',
  sum4: 'blue + green + red + nir',
  ndvi: 'NDVI (nir − red) / (nir + red + ε)',
  ndwi: 'NDWI (green − nir) / (green + nir + ε) (McFeeters 1996)',
  bri: 'blue–red index (blue − red) / (blue + red + ε): < 0 reddish, ≈ 0 grey, > 0 bluish',
  white: 'Fmask whiteness Σ|band − vis| / vis over blue, green, red (0 = perfectly flat)',
  hot: 'haze-optimised transform blue − 0.5·red − 0.08 (Zhang et al. 2002, as used by Fmask)',
  ndviMean: 'mean NDVI in the 5×5 window around the pixel (no-data pixels excluded)',
  visMean: 'mean visible brightness in the 5×5 window (no-data pixels excluded)',
  ndviStd: 'standard deviation of NDVI in the 5×5 window, √(E[x²] − E[x]²)',
  nirMean: 'mean NIR in the 5×5 window (no-data pixels excluded)',
  nirCv: 'coefficient of variation of NIR in the 5×5 window, std / (mean + ε)',
  planarity: 'share of the 5×5 NDVI variance explained by a least-squares plane (0 = no trend, 1 = a pure ramp or straight step); 0.02² is added to the variance so that smooth windows read ≈ 0',
} as const;
export type FeatureName = keyof typeof FEATURES;

/** ε added to index denominators: about twice the noise-equivalent reflectance of 4-band sensors. */
export const INDEX_EPSILON = 0.01;

/**
 * Residual "no rule applies" mass added to the sum of class scores before normalising, so a pixel
 * whose best membership is weak gets a low confidence instead of 1.
 */
export const CONFIDENCE_FLOOR = 0.1;

/** One fuzzy set over one feature. */
export interface Term {
  readonly kind: 'term';
  readonly id: string;
  readonly feature: FeatureName;
  readonly side: 'above' | 'below';
  readonly at: number;
  readonly width: number;
  readonly why: string;
}

/** A membership expression: product (fuzzy AND), max (fuzzy OR) and complement. */
export type Expr = Term | { readonly kind: 'and'; readonly of: readonly Expr[] } | { readonly kind: 'or'; readonly of: readonly Expr[] } | { readonly kind: 'not'; readonly of: Expr };

const term = (id: string, feature: FeatureName, side: 'above' | 'below', at: number, width: number, why: string): Term => ({ kind: 'term', id, feature, side, at, width, why });
const and = (...of: Expr[]): Expr => ({ kind: 'and', of });
const or = (...of: Expr[]): Expr => ({ kind: 'or', of });
const not = (of: Expr): Expr => ({ kind: 'not', of });

/** The terms, named so card.md can list each once with its justification. */
export const TERMS = {
  vegetated: term('vegetated', 'ndvi', 'above', 0.3, 0.05,
    'Bare soils lie on the soil line (NIR ≈ 1.1–1.3 × red + small intercept; Richardson & Wiegand 1977, Baret et al. 1993, Huete 1988), i.e. NDVI ≈ 0.05–0.25. Above 0.3 green cover dominates the signal; USGS puts sparse vegetation at 0.2–0.5 and dense at 0.6–0.9.'),
  nonVegetated: term('nonVegetated', 'ndvi', 'below', 0.3, 0.05, 'Complement of "vegetated" (same soil-line argument).'),
  closedCanopy: term('closedCanopy', 'ndviMean', 'above', 0.6, 0.05,
    'USGS NDVI convention: dense vegetation (temperate forest, crops at peak) is 0.6–0.9. Window mean, so a closed canopy must be closed over ≈ 5×5 pixels.'),
  sunlitCanopy: term('sunlitCanopy', 'nirMean', 'above', 0.12, 0.02,
    'Sunlit closed canopies, even dark conifers, reflect ≥ 0.15 in the NIR; below ≈ 0.1 the canopy is in shadow (see "shadowNir"). Tested on the 5×5 window mean, not the pixel: at ≤ 5 m a closed canopy is a mosaic of sunlit and self-shaded crown sides, and the shaded side (NIR ≈ 0.08–0.14) is still canopy; only a shadow cast over the whole window (cloud) darkens the mean.'),
  canopyDarkVis: term('canopyDarkVis', 'visMean', 'below', 0.03, 0.005,
    'Crowns of a closed woody canopy shade 30–60 % of what the sensor sees (geometric-optical models: Li & Strahler 1985; Hall et al. 1995). Shade darkens the visible far more than the NIR, where multiple scattering inside crowns fills shadows, so visible SR of closed forest is ≈ 0.015–0.03 while sunlit herbaceous canopies (crops, meadows) are ≈ 0.035–0.07. Shade fraction is a property of an area holding several crowns, hence the 5×5 window mean (at 2 m, sunlit crown tops alone can be as bright as crops). Kept at the top of the forest range: moving it to the middle of the gap (0.036) turned half of the Slovenian meadows (dark after dark-object subtraction) into tree; at ≤ 5 m "crownTexture" now catches the brighter stands instead.'),
  crownTexture: term('crownTexture', 'nirCv', 'above', 0.2, 0.03,
    'Where crowns are resolved (pixels ≲ 5 m), each crown has a sunlit and a self-shaded side and casts shade on its neighbours: NIR changes 2–3× from pixel to pixel (geometric-optical models, Li & Strahler 1985), a 5×5 NIR coefficient of variation of ≈ 0.2–0.45, whereas a crop or meadow canopy is homogeneous at that scale (CV ≲ 0.1 from rows and beds). This is the image-texture cue of VHR forest mapping (Haralick et al. 1973; Wulder et al. 1998) and, being a ratio, it does not move with haze or calibration offsets the way the visible darkness does. At 10–30 m crowns are not resolved and the texture vanishes: there "canopyDarkVis" carries the rule.'),
  gappy: term('gappy', 'ndviStd', 'above', 0.12, 0.02,
    'Crowns (NDVI ≈ 0.8) alternating with soil or grass gaps (≈ 0.2–0.5): a two-level mixture with step Δ ≈ 0.4 and crown fraction f has std Δ·√(f(1−f)); 0.12 is reached from f ≈ 0.1 to 0.9.'),
  openMeanLow: term('openMeanLow', 'ndviMean', 'above', 0.35, 0.05,
    'Crowns plus gaps must still be clearly vegetated on average (above the soil-line NDVI range).'),
  openMeanHigh: term('openMeanHigh', 'ndviMean', 'below', 0.75, 0.05,
    'Above ≈ 0.75 the window is closed canopy (USGS dense range), i.e. forest with internal shade, not crowns with gaps.'),
  notEdge: term('notEdge', 'planarity', 'below', 0.35, 0.05,
    'A straight boundary (field edge, road, forest edge) through a 5×5 window is mostly a ramp: a plane explains 50–75 % of its variance wherever the boundary falls in the window, whereas crowns repeating every 2–3 pixels leave ≲ 20 % (worked out for ideal patterns). Texture that is one boundary is not open woody cover.'),
  waterNdwi: term('waterNdwi', 'ndwi', 'above', 0.1, 0.04,
    'McFeeters (1996): NDWI > 0 for open water (green reflected, NIR absorbed). 0 is only the boundary against vegetation and soil: dark impervious surfaces (asphalt, dark roofs, NIR ≈ visible) scatter around 0 (Xu 2006, the reason for MNDWI), and the best threshold depends on the background (Ji et al. 2009). Open water, clear to turbid, sits at 0.2–0.6; algal ponds, whose red-edge lifts NIR, at ≈ 0.15–0.25. "Clearly positive" is 0.1.'),
  waterNir: term('waterNir', 'nir', 'below', 0.07, 0.01,
    'Water absorbs NIR within centimetres (absorption ≈ 2–5 m⁻¹ at 0.8–0.9 µm), so the NIR that leaves it is particle backscatter and glint: clear water ≤ 0.02, turbid inland and coastal water 0.02–0.06, only extreme sediment loads (hundreds of mg/L) approach 0.1 (Doxaran et al. 2002; Fmask\'s tighter branch uses NIR < 0.05, Zhu & Woodcock 2012). Every dark land surface keeps NIR ≥ visible: asphalt and dark roofs ≈ 0.07–0.15, shaded vegetation more. 0.07 (0.88 at ≤ 0.05) keeps turbid and algal water and drops most dark land; very turbid water is given up (a documented limitation).'),
  waterNdvi: term('waterNdvi', 'ndvi', 'below', 0.1, 0.03, 'The looser of the two Fmask water-test NDVI bounds (< 0.1); above it algae or floating plants dominate and the pixel is not open water.'),
  waterLit: term('waterLit', 'sum4', 'above', 0.06, 0.01,
    'Clear and humic water still returns ≈ 0.02–0.06 in blue and green, so a four-band sum below ≈ 0.06 carries no water signature: the pixel is unlit (shadow).'),
  shadowVis: term('shadowVis', 'vis', 'below', 0.04, 0.008,
    'In shadow only diffuse skylight arrives (≈ 10–20 % of global irradiance in the visible under clear sky), so even a 0.2-albedo surface drops to ≤ 0.04.'),
  notShadowVis: term('notShadowVis', 'vis', 'above', 0.04, 0.008, 'Complement of "shadowVis".'),
  shadowNir: term('shadowNir', 'nir', 'below', 0.12, 0.02,
    'The diffuse fraction is smaller still in the NIR (≲ 10 %), so a 0.5-NIR crop in shadow shows ≤ 0.05–0.1, below any sunlit canopy (≥ 0.15).'),
  shadowWide: term('shadowWide', 'nirMean', 'below', 0.15, 0.02,
    'A cloud shadow is hundreds of metres across, so the whole 5×5 window is dark in the NIR (≤ 0.1 even over crops). A dark pixel among NIR-bright neighbours is crown shade or the narrow shadow of a building or tree row at ≤ 5 m: the ground there is still seen (by skylight) and keeps its own class, and masking it as shadow would hide the building next to it.'),
  shadowNotWater: term('shadowNotWater', 'ndwi', 'below', 0, 0.05, 'Shadowed land keeps NIR ≥ green (NDWI ≤ 0); water has NDWI > 0 (McFeeters 1996).'),
  shadowBlack: term('shadowBlack', 'sum4', 'below', 0.06, 0.01, 'Complement of "waterLit": too dark to be water.'),
  soilNdvi: term('soilNdvi', 'ndvi', 'above', 0, 0.03,
    'Soils lie above the 1:1 NIR–red line (soil-line slope 1.1–1.3, Baret et al. 1993): NDVI > 0. Water, snow and cloud are ≤ 0.'),
  reddish: term('reddish', 'bri', 'below', -0.13, 0.04,
    'Iron oxides absorb below 0.55 µm, so mineral soils have red/blue ≳ 1.3 (soil colour indices: Escadafal 1993, Mathieu et al. 1998); grey man-made materials are flat, red/blue ≈ 1.0–1.15 (urban spectral libraries, Herold et al. 2004). (1 − 1.3)/(1 + 1.3) ≈ −0.13.'),
  notReddish: term('notReddish', 'bri', 'above', -0.13, 0.04, 'Complement of "reddish": flat (grey) or bluish visible spectrum.'),
  topsoilDark: term('topsoilDark', 'vis', 'below', 0.15, 0.02,
    'Cultivated topsoil is darkened by organic matter (steeply up to ≈ 2 % OM; Baumgardner et al. 1985), moisture (drying raises VNIR reflectance ≈ 1.5–2×; Lobell & Asner 2002) and clod shadowing: visible SR ≈ 0.05–0.12.'),
  subsoilBright: term('subsoilBright', 'vis', 'above', 0.15, 0.02,
    'Freshly exposed subsoil or fill is dry, smooth and low in organic matter: visible SR ≈ 0.15–0.30.'),
  imperviousNdvi: term('imperviousNdvi', 'ndvi', 'below', 0.15, 0.03,
    'Concrete, asphalt and roofs have NDVI ≈ 0–0.1 (Herold et al. 2004): their NIR is at most ≈ 1.2 × red. 0.15 leaves room for a little vegetation in the pixel; beyond it NIR clearly exceeds red, which a built surface alone does not do but film over crops does (see "filmNdviLow").'),
  filmNdviLow: term('filmNdviLow', 'ndvi', 'above', 0.1, 0.03,
    'Plastic film transmits NIR, so crops beneath lift NDVI slightly above bare impervious values (≈ 0.1–0.35).'),
  filmNdviHigh: term('filmNdviHigh', 'ndvi', 'below', 0.45, 0.05, 'The diffusing film mutes the red–NIR contrast; unclouded crops are above ≈ 0.5.'),
  filmBright: term('filmBright', 'vis', 'above', 0.12, 0.02,
    'Agricultural PE film reflects diffusely, visible SR ≈ 0.15–0.35 new, down to ≈ 0.12–0.15 when dusty or aged; vegetation and moist topsoil stay below ≈ 0.1. Brightness only has to exclude vegetation here: soils are excluded by "notReddish", built surfaces by the NDVI band.'),
  filmNotPainted: term('filmNotPainted', 'bri', 'below', 0.2, 0.05,
    'Film is flat to slightly bluish; strongly blue (blue/red ≳ 1.5) is blue pigment, i.e. painted steel roofs (彩钢瓦), which are built.'),
  blueBright: term('blueBright', 'blue', 'above', 0.12, 0.02,
    'Chlorophyll absorbs blue: canopies reflect ≤ 0.05 in blue (USGS/ECOSTRESS leaf and canopy spectra) and even uncorrected haze adds only ≈ 0.03–0.1 of path reflectance, whereas a blue pigment reflects ≳ 0.15 at its blue peak (painted steel, Herold et al. 2004). A bluish pixel that is also bright in blue is paint, not hazy or skylit vegetation.'),
  paintedBlue: term('paintedBlue', 'bri', 'above', 0.2, 0.05,
    'Complement of "filmNotPainted": blue/red ≳ 1.5 is blue pigment. Many blue paints reflect strongly in the NIR, so painted steel roofs (彩钢瓦) reach NDVI 0.2–0.45 and fail the impervious NDVI test; no vegetation, soil or film is that blue (chlorophyll and iron oxides make them red ≥ blue), so strong blue stands in for it.'),
  cloudBright: term('cloudBright', 'vis', 'above', 0.3, 0.03,
    'Optically thick cloud reflects ≳ 0.3 across the visible (Sen2Cor\'s first cloud test ramps cloud probability up over red TOA ≈ 0.07–0.25); few land surfaces except snow, sand and new bright roofs are that bright. Raising it to 0.4 (two-stream reflectance of a τ ≈ 10 cloud, so that white roofs are never cloud per pixel) was tried and rejected: semi-transparent cloud then falls to built, which the change stage does not treat as a diffuser, and false patches rose from 12 to 45 on the sample county.'),
  cloudWhite: term('cloudWhite', 'white', 'below', 0.7, 0.1, 'Fmask whiteness test (Zhu & Woodcock 2012): clouds are spectrally flat, whiteness < 0.7.'),
  cloudHot: term('cloudHot', 'hot', 'above', 0, 0.02, 'Fmask HOT test (Zhang et al. 2002): blue − 0.5·red − 0.08 > 0; excludes yellow/red bright surfaces (sand, dry subsoil).'),
} as const satisfies Record<string, Term>;

const t = TERMS;
const woody = t.canopyDarkVis;
// Closed canopy: crown shade (any resolution) or resolved crown texture (≲ 5 m) that is not one
// straight boundary (a crop/soil edge has as much NIR contrast as crowns).
const closedWoody = or(t.canopyDarkVis, and(t.crownTexture, t.notEdge));
const openWoody = and(t.gappy, t.notEdge);
const water = and(t.waterNdwi, t.waterNir, t.waterNdvi, t.waterLit);
const cloud = and(t.cloudBright, t.cloudWhite, t.cloudHot);
const soil = and(t.nonVegetated, t.soilNdvi, t.reddish, not(openWoody));
// Strong, bright blue is pigment: chlorophyll absorbs blue as strongly as red, so no sunlit canopy
// has blue/red ≳ 1.5 with blue SR ≳ 0.12. Vegetation turns bluish only under skylight alone
// (shadow) or under haze (path radiance), and then its blue stays low, hence "blueBright".
const sunlitPaint = and(t.paintedBlue, t.blueBright);
// Bright, flat, with NIR clearly above red: a diffusing film over something that reflects NIR
// (crops). Bare built materials (concrete, roofing, asphalt) keep NIR ≤ ≈ 1.2 × red (NDVI ≤ 0.1;
// Herold et al. 2004), so where a bright flat pixel crosses that, film is the better reading.
const filmLike = and(t.filmNdviLow, t.filmBright, t.notReddish);

/** One output class: its code, the rule, and a one-line reading of the rule for the card. */
export interface ClassRule {
  readonly name: Exclude<LandCoverName, 'nodata'>;
  readonly code: number;
  readonly rule: Expr;
  readonly reading: string;
}

/** Classes in score-channel order; `code` is the LandCover code written to the label output. */
export const CLASS_RULES: readonly ClassRule[] = [
  { name: 'water', code: LandCover.water, rule: water, reading: 'NDWI > 0.1 and NIR < 0.07 and NDVI < 0.1 and not black' },
  { name: 'tree', code: LandCover.tree, rule: and(t.closedCanopy, t.sunlitCanopy, closedWoody), reading: 'closed canopy (window NDVI > 0.6), sunlit (window NIR > 0.12), and shaded by crowns (window visible SR < 0.03) or with resolved crown texture (window NIR CV > 0.2)' },
  { name: 'orchard', code: LandCover.orchard, rule: and(openWoody, t.openMeanLow, t.openMeanHigh, not(woody)), reading: 'crowns with sunlit gaps: window NDVI std > 0.12 not explained by a straight boundary (plane R² < 0.35), window mean 0.35–0.75, window not crown-shaded' },
  { name: 'herbaceous', code: LandCover.herbaceous, rule: and(t.vegetated, not(woody), not(openWoody), not(sunlitPaint)), reading: 'NDVI > 0.3, canopy not crown-shaded (window visible SR > 0.03), not crowns-with-gaps, not strongly and brightly blue (paint: blue/red > 1.5 with blue SR > 0.12)' },
  { name: 'bare', code: LandCover.bare, rule: and(soil, t.topsoilDark, t.notShadowVis), reading: 'soil (0 < NDVI < 0.3, red/blue > 1.3) with visible SR < 0.15' },
  { name: 'disturbed', code: LandCover.disturbed, rule: and(soil, t.subsoilBright), reading: 'soil with visible SR > 0.15 (dry, organic-poor subsoil or fill)' },
  { name: 'built', code: LandCover.built, rule: and(or(and(t.imperviousNdvi, not(filmLike)), t.paintedBlue), t.notReddish, t.notShadowVis, not(water), not(cloud)), reading: 'NDVI < 0.15 and not bright with NDVI > 0.1 (film) (or strongly blue paint), flat or bluish visible, not shadow-dark, not water, not cloud' },
  { name: 'greenhouse', code: LandCover.greenhouse, rule: and(t.filmNdviLow, t.filmNdviHigh, t.filmBright, t.notReddish, t.filmNotPainted, not(cloud)), reading: 'visible SR > 0.12, flat, NDVI 0.1–0.45, not strongly blue, not cloud' },
  { name: 'cloud', code: LandCover.cloud, rule: cloud, reading: 'visible SR > 0.3, whiteness < 0.7, HOT > 0' },
  { name: 'shadow', code: LandCover.shadow, rule: and(t.shadowVis, t.shadowNir, t.shadowWide, or(t.shadowNotWater, t.shadowBlack)), reading: 'visible SR < 0.04 and NIR < 0.12 (window mean NIR < 0.15), and NIR ≥ green or black' },
];
