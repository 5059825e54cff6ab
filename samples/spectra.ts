/**
 * Spectral library of the sample generator: surface reflectance (0..1) in four broad bands
 * (blue ≈ 450–520 nm, green ≈ 520–590, red ≈ 630–690, NIR ≈ 770–890 nm; GF-1/GF-2 PMS and
 * Sentinel-2 B2/B3/B4/B8 are close enough that one set of values serves both).
 *
 * Where the numbers come from: typical values from the remote-sensing literature and spectral
 * libraries (USGS splib07 and ECOSTRESS/ASTER library spectra averaged over these bands; crop
 * phenology studies of winter wheat and rapeseed on the North China / Jianghuai plains; urban
 * material studies of roofs and pavements), written from memory and rounded, then sanity-checked
 * against the real labelled Sentinel-2 patch in /work/shared/data/eolearn-slovenia-s2-lulc
 * (class means of the three clear scenes, TOA, minus a typical path radiance of ≈0.04/0.02/0.01/0
 * in blue/green/red/NIR): forest ≈ 0.035/0.04/0.027/0.21–0.26, grassland ≈ 0.045/0.06/0.045/0.29–0.32,
 * cultivated ≈ 0.05/0.07/0.05–0.06/0.28–0.35. Those agree with the vegetation entries below to
 * within the per-parcel variation we apply.
 *
 * Honesty rule: materials are NOT designed to be separable by a single threshold. Dry stubble,
 * fresh subsoil and aged concrete overlap in the visible bands; new plastic film and new concrete
 * are both bright and flat; black shade nets, fresh asphalt, water and shadow are all dark; grass,
 * young orchards and crops are all green. Per-feature gain (±10–15 %), within-feature texture and
 * sensor noise are added on top by the renderer.
 */

import { LandCover, type LandCoverCode } from '../pipeline/types.js';

/** Reflectance in [blue, green, red, nir]. */
export type Spectrum = readonly [number, number, number, number];

/** Band names, in file order. */
export const BANDS = ['blue', 'green', 'red', 'nir'] as const;

// --- vegetation ---------------------------------------------------------------------------------

/** Winter wheat at jointing–heading, full cover (NDVI ≈ 0.8): high NIR plateau, chlorophyll well in red. Wheat phenology studies (Sentinel-2, Jianghuai plain). */
export const CROP_GREEN: Spectrum = [0.032, 0.068, 0.04, 0.4];
/** Wheat at milk–dough ripeness (late May in Jiangsu): chlorophyll loss raises red, NIR falls (NDVI ≈ 0.45–0.5). Same phenology studies. */
export const CROP_RIPENING: Spectrum = [0.058, 0.096, 0.108, 0.3];
/** Flowering rapeseed (mid-April): yellow petals raise green and red strongly over a green canopy (NDVI ≈ 0.55–0.6); rapeseed flowering-index papers (Sentinel-2 B3/B4). */
export const RAPE_FLOWER: Spectrum = [0.048, 0.118, 0.098, 0.37];
/** Rapeseed at pod stage: green-brown siliques, NDVI ≈ 0.55. */
export const RAPE_POD: Spectrum = [0.046, 0.082, 0.078, 0.31];
/** Leafy vegetables on beds, ~70 % cover: a different green (less NIR than wheat, some soil). */
export const VEG_A: Spectrum = [0.042, 0.078, 0.056, 0.33];
/** Vegetables / maize seedlings a month later: another green, more cover, brighter green band. */
export const VEG_B: Spectrum = [0.036, 0.082, 0.046, 0.37];
/** Grass, weeds on verges and dikes; spectrally a crop (why outflow to grass is not planted). USGS lawn/grass spectra. */
export const GRASS: Spectrum = [0.04, 0.076, 0.056, 0.3];
/** Sunlit broadleaf crown (poplar, camphor, fruit trees): USGS/ECOSTRESS leaf spectra scaled to canopy level. */
export const CANOPY_SUNLIT: Spectrum = [0.03, 0.058, 0.032, 0.38];
/** Self-shaded part of a crown / gaps between crowns (illumination ≈ 0.3 of sunlit, NIR scatters more). */
export const CANOPY_SHADED: Spectrum = [0.014, 0.022, 0.013, 0.14];

// --- soils ---------------------------------------------------------------------------------------

/** Freshly ploughed moist topsoil (Jiangsu paddy soils are dark grey-brown): moisture darkens all bands. Soil-moisture reflectance studies (Lobell & Asner 2002). */
export const SOIL_MOIST: Spectrum = [0.056, 0.076, 0.096, 0.135];
/** Dry topsoil, fallow or compacted: brighter, still monotonic rising to NIR. USGS/ECOSTRESS loam spectra. */
export const SOIL_DRY: Spectrum = [0.092, 0.122, 0.152, 0.205];
/** Wheat/rapeseed stubble and straw after harvest: bright straw, NIR moderate (lignin/cellulose). Crop-residue studies (Daughtry et al.). */
export const STUBBLE: Spectrum = [0.095, 0.128, 0.162, 0.245];
/** Fresh subsoil dug or piled (推填土): brighter and yellower than topsoil (iron oxides, little organic matter): red/blue ratio ≈ 2. USGS yellow-brown clay-loam. */
export const SUBSOIL: Spectrum = [0.112, 0.158, 0.212, 0.262];

// --- built surfaces ------------------------------------------------------------------------------

/** New concrete (roads, hardened yards, flat roofs): bright, nearly flat. Urban material libraries (Herold et al. 2004, Santa Barbara). */
export const CONCRETE_NEW: Spectrum = [0.2, 0.222, 0.238, 0.268];
/** Weathered concrete (rural roads, old yards): darker, dusty. Same source. */
export const CONCRETE_AGED: Spectrum = [0.128, 0.142, 0.152, 0.178];
/** Fresh asphalt: very dark, flat. Herold et al. */
export const ASPHALT_NEW: Spectrum = [0.046, 0.054, 0.06, 0.074];
/** Aged asphalt (main road): greyer as binder oxidises and aggregate shows. Herold et al. */
export const ASPHALT_AGED: Spectrum = [0.085, 0.096, 0.106, 0.124];
/** Blue painted steel roofing (彩钢瓦), ubiquitous on sheds and factories: blue pigment peaks in blue, low red, paint reflects NIR. Roof-material studies of Chinese peri-urban areas. */
export const ROOF_BLUE_STEEL: Spectrum = [0.205, 0.172, 0.094, 0.238];
/** Red clay tiles: red rises steeply, NIR high (iron oxide). Herold et al. */
export const ROOF_RED_TILE: Spectrum = [0.062, 0.072, 0.158, 0.258];
/** Grey cement/clay tiles (most Jiangsu rural houses): dark, flat. */
export const ROOF_GREY_TILE: Spectrum = [0.078, 0.086, 0.092, 0.112];
/** White-coated flat roofs and light metal: the brightest surfaces in the scene besides clouds. */
export const ROOF_WHITE: Spectrum = [0.3, 0.31, 0.312, 0.332];
/** New greenhouse plastic film over crops: bright, flat visible; NIR raised by the crop beneath. Plastic-greenhouse mapping papers (Sentinel-2/GF-2, Shandong/Jiangsu). */
export const FILM_NEW: Spectrum = [0.236, 0.256, 0.262, 0.34];
/** Aged, dusty film. */
export const FILM_AGED: Spectrum = [0.156, 0.172, 0.176, 0.27];
/** Black shade net over greenhouses: dark, like asphalt. */
export const SHADE_NET: Spectrum = [0.05, 0.056, 0.057, 0.095];

// --- water ---------------------------------------------------------------------------------------

/** Clear, deep water: reflectance falls off to almost nothing in NIR. Water-colour literature. */
export const WATER_CLEAR: Spectrum = [0.045, 0.05, 0.03, 0.012];
/** Turbid river/canal water of the lower Yangtze plain (suspended sediment raises green/red). Taihu/Yangtze water-colour studies. */
export const WATER_TURBID: Spectrum = [0.066, 0.088, 0.078, 0.03];
/** Eutrophic fish-pond water (algae: green peak, slight red-edge NIR). Taihu algal-bloom remote-sensing studies. */
export const WATER_ALGAL: Spectrum = [0.04, 0.068, 0.042, 0.045];
/** Newly dug pond, muddy water. */
export const WATER_MUDDY: Spectrum = [0.075, 0.098, 0.096, 0.045];

// --- atmosphere ----------------------------------------------------------------------------------

/** Optically thick cumulus (surface-reflectance-equivalent): bright and flat, NIR slightly higher. */
export const CLOUD: Spectrum = [0.52, 0.51, 0.5, 0.53];
/** Fraction of direct illumination left in a cloud shadow (diffuse light only: 0.2–0.3). */
export const SHADOW_FACTOR = 0.26;
/** Skylight that still reaches shadowed ground: Rayleigh-scattered, so mostly blue. */
export const SKYLIGHT: Spectrum = [0.011, 0.006, 0.003, 0.002];

/**
 * Global radiometric difference of the after image relative to the before image (different
 * sensor calibration and atmosphere): `after = before × gain + offset`. Haze adds path radiance,
 * most in blue (Rayleigh ∝ λ⁻⁴); the NIR gain below 1 mimics a drier atmosphere / calibration drift.
 */
export const AFTER_GAIN: Spectrum = [1.04, 1.03, 0.98, 0.94];
/** See {@link AFTER_GAIN}. */
export const AFTER_OFFSET: Spectrum = [0.019, 0.011, 0.005, -0.002];

/** Sensor noise: absolute σ per band (reflectance) and relative σ (photon/striping-like). */
export const NOISE_ABS: Spectrum = [0.0035, 0.003, 0.003, 0.0045];
/** See {@link NOISE_ABS}. */
export const NOISE_REL = 0.012;

/** Plausible overall range of valid surface reflectance values written by the generator. */
export const VALID_RANGE = { min: 0.0001, max: 0.8 } as const;

/** Named materials (for tests and docs). */
export const MATERIALS = {
  CROP_GREEN,
  CROP_RIPENING,
  RAPE_FLOWER,
  RAPE_POD,
  VEG_A,
  VEG_B,
  GRASS,
  CANOPY_SUNLIT,
  CANOPY_SHADED,
  SOIL_MOIST,
  SOIL_DRY,
  STUBBLE,
  SUBSOIL,
  CONCRETE_NEW,
  CONCRETE_AGED,
  ASPHALT_NEW,
  ASPHALT_AGED,
  ROOF_BLUE_STEEL,
  ROOF_RED_TILE,
  ROOF_GREY_TILE,
  ROOF_WHITE,
  FILM_NEW,
  FILM_AGED,
  SHADE_NET,
  WATER_CLEAR,
  WATER_TURBID,
  WATER_ALGAL,
  WATER_MUDDY,
  CLOUD,
} as const satisfies Readonly<Record<string, Spectrum>>;

/** Name of a material of {@link MATERIALS}. */
export type MaterialName = keyof typeof MATERIALS;

/**
 * True land-cover class of each material, for the optional truth rasters (`truthRasters`). The
 * class is what the material IS on the ground, by the meaning of the classes in
 * pipeline/types.ts, never what a classifier would probably call it:
 * - green crops, vegetables, flowering/podding rapeseed, ripening wheat and grass → herbaceous
 *   (ripening wheat is still a standing crop, whatever its NDVI);
 * - tilled, fallow or harvested topsoil and stubble/straw → bare (the cultivation cycle);
 * - fresh subsoil (dug or piled, 推填土) → disturbed;
 * - concrete, asphalt and every roof → built;
 * - plastic film and black shade nets over facility crops → greenhouse (a shade net is dark like
 *   asphalt, but the land cover is a greenhouse);
 * - crowns (sunlit or self-shaded) → tree; the renderer overrides this to orchard inside
 *   orchards, where crowns AND their inter-row grass/soil are the class "open woody cover";
 * - every water type → water; cloud → cloud.
 * Context the material alone cannot give (orchard rows, gaps inside a forest stand, a dug pit
 * whose soil is moist topsoil, building shadows) is set by the renderer's programs.
 */
export const MATERIAL_CLASS: Readonly<Record<MaterialName, LandCoverCode>> = {
  CROP_GREEN: LandCover.herbaceous,
  CROP_RIPENING: LandCover.herbaceous,
  RAPE_FLOWER: LandCover.herbaceous,
  RAPE_POD: LandCover.herbaceous,
  VEG_A: LandCover.herbaceous,
  VEG_B: LandCover.herbaceous,
  GRASS: LandCover.herbaceous,
  CANOPY_SUNLIT: LandCover.tree,
  CANOPY_SHADED: LandCover.tree,
  SOIL_MOIST: LandCover.bare,
  SOIL_DRY: LandCover.bare,
  STUBBLE: LandCover.bare,
  SUBSOIL: LandCover.disturbed,
  CONCRETE_NEW: LandCover.built,
  CONCRETE_AGED: LandCover.built,
  ASPHALT_NEW: LandCover.built,
  ASPHALT_AGED: LandCover.built,
  ROOF_BLUE_STEEL: LandCover.built,
  ROOF_RED_TILE: LandCover.built,
  ROOF_GREY_TILE: LandCover.built,
  ROOF_WHITE: LandCover.built,
  FILM_NEW: LandCover.greenhouse,
  FILM_AGED: LandCover.greenhouse,
  SHADE_NET: LandCover.greenhouse,
  WATER_CLEAR: LandCover.water,
  WATER_TURBID: LandCover.water,
  WATER_ALGAL: LandCover.water,
  WATER_MUDDY: LandCover.water,
  CLOUD: LandCover.cloud,
};

/** NDVI of a spectrum (handy in tests and docs). */
export const ndvi = (s: ArrayLike<number>): number => (s[3] - s[2]) / (s[3] + s[2]);
