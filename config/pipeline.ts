import { z } from 'zod';
import { CHANGE_TYPE_NAMES, LAND_COVER_NAMES, type ChangeTypeName, type LandCoverName } from '../pipeline/types.js';

const landCover = z.enum(LAND_COVER_NAMES as [LandCoverName, ...LandCoverName[]]);
const changeType = z.enum(CHANGE_TYPE_NAMES as [ChangeTypeName, ...ChangeTypeName[]]);

/** Baseline land-use groups by GB/T 21010 code (DLBM), as the 三调 survey uses them. */
export const LandUseGroupsSchema = z
  .object({
    cropland: z.array(z.string()).default(['0101', '0102', '0103']).describe('DLBM codes that are cropland (耕地)'),
    paddy: z.array(z.string()).default(['0101']).describe('DLBM codes that are paddy (水田), balanced separately'),
  })
  .describe('Baseline land-use groups by DLBM code');

export const TransitionRuleSchema = z
  .object({
    name: z.string().describe('Rule name, shown in the summary'),
    baseline: z.literal('cropland').default('cropland').describe('Baseline group the rule applies to'),
    before: z.array(landCover).min(1).describe('Land cover the before image must show (the change happened in the period)'),
    after: z.array(landCover).min(1).describe('Land cover the after image shows for this change'),
    type: changeType.describe('Change type of patches from this rule'),
    closingM: z
      .number()
      .min(0)
      .max(20)
      .default(0)
      .describe('Morphological closing (m) of this rule\'s change mask: joins greenhouse rows, or houses and yards of one site, and fills object shadows inside it'),
    joinsNeighbours: z
      .boolean()
      .default(false)
      .describe('A patch of this rule touching a patch of another rule becomes part of it (the earthworks of a new pond, road or building site)'),
    standalone: z
      .union([z.boolean(), z.literal('inside-field')])
      .default(true)
      .describe('false: a patch of this rule is reported only as part of a site it joins (bare soil beside a new building is its yard). "inside-field": alone, it is reported only where it cuts into a field, i.e. its outline does not follow field edges the before image showed (bare soil inside a crop is dug; a field bare to its edges was harvested or ploughed). Either way other rules\' closing may claim its pixels'),
    minBrightening: z
      .number()
      .min(0.05)
      .max(1)
      .optional()
      .describe('The pixel must be brighter than every before-date pixel within rules.misregistrationPx by at least this share: (Σa − Σb) / ((Σa + Σb) / 2) over all bands, the after date normalised onto the before date. Required when the rule keeps a class (before and after share a class): the change is then in the material, not the class'),
    textureM: z
      .number()
      .min(0)
      .max(50)
      .default(0)
      .describe('The new cover is a texture (crowns and gaps): its outline is refined on box means this wide (m) of the after image and of the change between the dates instead of single pixels, and may also give back the rim the classifier\'s texture window spilled into the field (change/refine.ts; 0 = a cover of single pixels)'),
    typeByMajorityAfter: z
      .record(z.string(), changeType)
      .optional()
      .describe('Patch type by the majority after-class, e.g. {tree: outflow_forest, orchard: outflow_orchard}'),
    interleaves: z
      .boolean()
      .default(false)
      .describe('Pieces of this rule and of other interleaving rules that share at least rules.interleavedBorder pixel edges per pixel of the smaller are one object read two ways (film rows read half as roof) and become one patch of the larger piece\'s rule'),
    linear: z
      .object({
        type: changeType.describe('Type given to linear patches (e.g. roads)'),
        maxWidthM: z.number().positive().default(16).describe('Widest inscribed width (m) a linear patch may have'),
        minElongation: z.number().positive().default(6).describe('Minimum length / width ratio of a linear patch'),
        minShare: z
          .number()
          .min(0)
          .max(1)
          .default(1 / 3)
          .describe('Touching changes of any rules that together are long and thin become one linear patch when at least this share of their pixels are this rule\'s: a 6 m road at 2 m is a pavement pixel or two between verges read as bare soil, and the dark line makes the crop beside it look like crowns (1 disables)'),
      })
      .optional()
      .describe('Shape test that re-types long thin patches'),
  })
  .describe('One row of the transition table: baseline group × land cover seen → change type');

const defaultTransitions: z.input<typeof TransitionRuleSchema>[] = [
  {
    name: 'impervious',
    before: ['herbaceous', 'bare', 'disturbed'],
    after: ['built'],
    type: 'occupation_building',
    interleaves: true,
    linear: { type: 'occupation_road', maxWidthM: 16, minElongation: 6 },
    closingM: 4,
  },
  { name: 'soil', before: ['herbaceous', 'bare'], after: ['disturbed'], type: 'occupation_soil', joinsNeighbours: true },
  { name: 'yard', before: ['herbaceous'], after: ['bare'], type: 'occupation_soil', joinsNeighbours: true, standalone: 'inside-field' },
  // Bare soil dug, scraped or covered with fill inside a bare field: it stays "bare", but subsoil
  // and fill hold less organic matter than the topsoil they replace and are brighter (Stoner &
  // Baumgardner 1981; the same reading as the absolute "disturbed" class, here relative to the
  // field's own soil, so it holds for any calibration). Darkening is left out: between two dates
  // it is mostly rain, irrigation or a cloud shadow's penumbra. A field worked as a whole
  // brightens as much, but its outline then follows the field's edges, or, where the threshold
  // cuts the field, is no edge of the after image (rules.sharpOutline).
  { name: 'regraded', before: ['bare'], after: ['bare'], type: 'occupation_soil', joinsNeighbours: true, standalone: 'inside-field', minBrightening: 0.25 },
  {
    name: 'woody',
    before: ['herbaceous', 'bare'],
    after: ['tree', 'orchard'],
    type: 'outflow_forest',
    typeByMajorityAfter: { tree: 'outflow_forest', orchard: 'outflow_orchard' },
    closingM: 4,
    textureM: 6,
  },
  { name: 'pond', before: ['herbaceous', 'bare', 'disturbed'], after: ['water'], type: 'outflow_pond' },
  { name: 'greenhouse', before: ['herbaceous', 'bare', 'disturbed'], after: ['greenhouse'], type: 'outflow_greenhouse', closingM: 4, interleaves: true },
];

export const RulesSchema = z
  .object({
    groups: LandUseGroupsSchema.default(LandUseGroupsSchema.parse({})),
    transitions: z.array(TransitionRuleSchema).min(1).default(defaultTransitions.map((t) => TransitionRuleSchema.parse(t))),
    interleavedBorder: z
      .number()
      .min(0)
      .default(0.5)
      .describe('A piece of an interleaving rule (rules.transitions[].interleaves) that shares at least this many pixel edges per pixel of it with a larger piece of another interleaving rule is part of it: film rows read half as roof are one greenhouse. A compact block enclosed by another shares 4/√n edges per pixel, so at 0.5 a house of 256 m² (64 px at 2 m) or more inside a greenhouse stays a patch of its own (0 disables)'),
    joinMaxRatio: z
      .number()
      .min(1)
      .default(3)
      .describe('A patch joins a touching site only if it is at most this many times the site\'s size (a speck cannot swallow a harvested field)'),
    misregistrationPx: z
      .number()
      .int()
      .min(0)
      .max(3)
      .default(1)
      .describe('A pixel is not a change if its after-class is seen within this many pixels in the before image (tolerates mis-registration)'),
    cloudBufferM: z
      .number()
      .min(0)
      .default(40)
      .describe('Clouds and cloud shadows are buffered by this distance (m) before masking: their soft, hazy edges fool any per-pixel classifier'),
    minCloudM: z
      .number()
      .min(0)
      .default(60)
      .describe('Bright diffusing areas (cloud or plastic-film cover) at least this wide (m) are clouds: a thin cloud over crops looks like film pixel by pixel, but film comes in rows and blocks, clouds in hundreds of metres'),
    openingPx: z.number().int().min(0).max(3).default(0).describe('Morphological opening radius (px) applied to change masks to drop slivers; 0 keeps thin roads whole (minimum areas drop specks)'),

    cloudGrowM: z
      .number()
      .min(0)
      .max(200)
      .default(40)
      .describe('A cloud grows this far (m) through touching bright pixels (film, built, cloud): its semi-transparent parts read as film or concrete pixel by pixel'),
    objectShadowM: z
      .number()
      .min(0)
      .default(15)
      .describe('Shadows narrower than this (m) are cast by objects (buildings, trees), not clouds: they are masked but not buffered'),
    mixedEdgeRings: z
      .number()
      .int()
      .min(0)
      .max(4)
      .default(2)
      .describe('Rings of boundary pixels around each change examined for mixed pixels: one that is at least mixedEdgeMinFraction new material (linear unmixing on the after date between the unchanged pixels two out that were most like it on the before date and whichever of its changed neighbours\' spectra, or their mean, explains it best) joins the change (0 = off)'),
    mixedEdgeMinFraction: z.number().min(0).max(1).default(0.5).describe('Share of new material from which a mixed boundary pixel belongs to the change (0.5: the pixel centre lies inside the new object)'),
    mixedEdgeMinContrast: z
      .number()
      .min(0)
      .default(0.15)
      .describe('Smallest spectral contrast between old and new material, relative to the brighter one, at which a mixed-pixel fraction is trusted (relative normalisation residuals and in-field variation are ≈ 5–10 % of reflectance); on the before date, a pixel and the unchanged pixels taken as its old surface that differ by this much are not the same surface, and the pixel is not unmixed'),
    outlineReachM: z
      .number()
      .min(0)
      .max(40)
      .default(10)
      .describe('How far (m) a change may grow into pixels that the after image shows are its new material: nearer its interior than the surface around it, and as close to it as its own pixels are (change/refine.ts; 0 = off). At 10 m it brings five sample counties\' matched areas more than 10 % off from 42 to 22 of 176 at equal or better F1, and keeps every area within 10 % on true land cover. Rounded to pixels, so it is off on imagery coarser than 20 m'),
    outlineWindowM: z
      .number()
      .positive()
      .max(200)
      .default(24)
      .describe('Half-size (m) of the square from which the outline refinement takes a pixel\'s nearest pixels of each side; must exceed outlineReachM, or nothing beyond the reach is left to compare with'),
    minConfidence: z.number().min(0).max(1).default(0.35).describe('Pixels whose before or after classification confidence is below this are not changes (but see yardConfidence)'),
    yardConfidence: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .describe('Earthworks (rules with joinsNeighbours) classified with confidence below minConfidence but at least this are changes where they link, within yardReachM, to a confident change of a rule that is a site of its own: a gravel or soil yard beside a new roof reads half bare, half disturbed, each barely. On five sample counties it brings the yards of three buildings and a road within 10 % of their area and changes no match and no false patch (≥ minConfidence disables)'),
    yardReachM: z.number().min(0).default(8).describe('How far (m) weak earthworks may reach from the confident site they join (keeps the test local to a tile\'s halo)'),
    wholeParcelTillage: z
      .number()
      .min(0)
      .max(1)
      .default(0.85)
      .describe('A soil patch lying within one baseline parcel that shows soil (bare or disturbed) over at least this fraction is tillage or harvest, not digging (0 disables)'),
    fieldEdgeTillage: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe('A soil patch whose outline runs along edges the before image already showed (field boundaries) for at least this share of its length is tillage or harvest, which stop at field edges; digging cuts through a crop. Noise and in-field texture mark ≈ 0–6 % of an outline that cuts a crop; a field worked to its edges shows ≈ 10–60 % (its other sides border fields that looked alike before) (0 disables)'),
    sharpOutline: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe('A patch of a sharpOutlineTypes type must be a sharp edge in the after image along at least this share of its judged outline (change/outline-edges.ts): new roofs, film and pavement end within a pixel or two (≈ 0.4–0.9 measured on the sample counties); the fringe of a thin cloud or haze, which pixel by pixel reads as film or concrete, fades over tens of metres (≈ 0–0.3). The same holds for changes no class change vouches for: rules with minBrightening and, without a baseline, every transition (a classifier boundary cut through a field that changed as a whole is no edge) (0 disables)'),
    sharpOutlineTypes: z
      .array(changeType)
      .default(['occupation_building', 'occupation_road', 'outflow_greenhouse'])
      .describe('Change types whose new cover thin cloud and haze imitate (bright, flat: roofs, concrete, film), to which sharpOutline applies'),
    edgeRatio: z
      .number()
      .min(1)
      .default(2)
      .describe('An outline step lies on an image edge when the contrast across it is this many times the mean contrast at the same spacing within the two sides (change/outline-edges.ts)'),
    edgeMinContrast: z
      .number()
      .min(0)
      .default(0.05)
      .describe('Smallest relative contrast across an outline step (Σ|Δ| / mean Σ over bands of 3×3 means) that can be an edge; 9-pixel means of one field differ by ≈ 1–2 %'),
    ignoreTransitions: z
      .array(z.tuple([landCover, landCover]))
      .default([
        ['herbaceous', 'bare'],
        ['bare', 'herbaceous'],
      ])
      .describe('Without a baseline: land-cover transitions that are the cultivation cycle and not reported'),
  })
  .superRefine((r, ctx) => {
    if (r.outlineReachM > 0 && r.outlineWindowM <= r.outlineReachM)
      ctx.addIssue({ code: 'custom', path: ['outlineWindowM'], message: `must exceed outlineReachM (${r.outlineReachM} m): the refinement compares a pixel with the surface beyond the reach, inside the window` });
  })
  .describe('Change rules');

/** Minimum mapping units (三调 convention): 200 m² construction and facility land, 400 m² agricultural land. */
export const MinAreaSchema = z
  .record(z.string(), z.number().min(0))
  .default({
    occupation_building: 200,
    occupation_road: 200,
    occupation_soil: 200,
    outflow_greenhouse: 200,
    outflow_orchard: 400,
    outflow_forest: 400,
    outflow_grass: 400,
    outflow_pond: 400,
    transition: 400,
  })
  .describe('Minimum mapping unit per change type, m² (ellipsoidal)');

export const TilingSchema = z
  .object({
    tileSize: z.number().int().min(256).max(8192).multipleOf(256).default(1024).describe('Core tile size in pixels, a multiple of 256 (the tile size of the rasters a run writes)'),
  })
  .describe('Tiling');

export const NormalizeSchema = z
  .object({
    method: z.enum(['pif', 'none']).default('pif').describe('Relative radiometric normalisation of the after image to the before image'),
    coregister: z
      .object({
        enabled: z.boolean().default(true).describe('Estimate the whole-pixel shift of the after image against the before image and read it shifted'),
        maxShiftPx: z.number().int().min(1).max(10).default(3).describe('Largest shift (pixels, each axis) considered'),
      })
      .default({ enabled: true, maxShiftPx: 3 })
      .describe('Co-registration of the after image onto the before image (normalize/coregister.ts)'),
    sampleTiles: z.number().int().min(1).default(16).describe('Tiles sampled (spread over the scene) to fit the normalisation'),
    invariantClasses: z
      .array(landCover)
      .default(['water', 'built'])
      .describe('Land cover without phenology: pixels both dates classify as one of these anchor the normalisation'),
    calibration: z
      .enum(['auto', 'reflectance', 'percentile'])
      .default('auto')
      .describe('reflectance: inputs are surface reflectance; percentile: map each band\'s p0.5/p99 onto the reference (for 8-bit display products); auto: percentile for 8-bit input and for values no surface reflectance has (darkest 1 % of every band above 0.25, or brightest 1 % of a band above 1.5: digital numbers at another scale), else reflectance'),
    reference: z
      .record(z.string(), z.tuple([z.number(), z.number()]))
      .default({ blue: [0.01, 0.15], green: [0.015, 0.18], red: [0.01, 0.22], nir: [0.015, 0.45] })
      .describe('Percentile calibration anchors per band: reflectance of the darkest objects (deep water, shadow: 1–2 %, at p0.5) and of the bright end of a land scene (at p99)'),
  })
  .describe('Radiometric normalisation between dates');

export const LegalitySchema = z
  .array(
    z.object({
      layer: z.enum(['approved', 'filings']).describe('Overlay layer that legalises'),
      types: z.array(changeType).describe('Change types this layer legalises'),
      numberField: z.string().describe('Attribute of the layer holding the approval / filing number'),
      minCoverage: z.number().min(0).max(1).default(0.5).describe('Fraction of the patch that must lie inside'),
    }),
  )
  .default([
    { layer: 'approved', types: ['occupation_building', 'occupation_road', 'occupation_soil'], numberField: 'PZWH', minCoverage: 0.5 },
    { layer: 'filings', types: ['outflow_greenhouse'], numberField: 'BABH', minCoverage: 0.5 },
  ])
  .describe('Which overlays make which change types legal (kept and marked, never dropped)');
