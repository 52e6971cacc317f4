/**
 * The domain recipes of the contract: what a pretraining run may learn from besides the paper's
 * MAE, the feature targets of FG-MAE, and how the new-run dialog offers each recipe for a
 * project. `contract.ts` re-exports everything; `contract-training.ts` uses them in `Recipe`.
 */

/**
 * What a pretraining run learns from: the paper's MAE, or a domain recipe that changes its input,
 * targets or model (each cited where it is shown). Later recipes join this list.
 */
export const DOMAIN_RECIPES = ['mae', 'deblur', 'fgmae', 'satmae', 'camae', 'hpm', 'satmae-temporal'] as const;
export type DomainRecipeName = (typeof DOMAIN_RECIPES)[number];
/** What an FG-MAE run regresses per masked patch: pixels, HOG, or normalised-difference indices. */
export const FEATURE_TARGETS = ['pixels', 'hog', 'ndvi', 'ndwi', 'ndbi'] as const;
export type FeatureTarget = (typeof FEATURE_TARGETS)[number];

/** A domain recipe as the new-run dialog offers it for one project. */
export interface DomainRecipeChoice {
  name: DomainRecipeName;
  /** Its name on screen, e.g. "Deblurring MAE". */
  label: string;
  /** The paper it follows: "Kang et al. 2023, Deblurring Masked Autoencoder is Better Recipe for …". */
  citation: string;
  /** Suggested for this project's images (exactly one is). */
  suggested: boolean;
  /** One sentence: why it suits (or does not suit) this project's images. */
  why: string;
  /** `fgmae`: every target, whether these images allow it (indices need named bands), and why. */
  targets?: { target: FeatureTarget; available: boolean; reason: string }[];
  /**
   * The options it starts with here (`blurSigma`, `featureTargets`; SatMAE: `bandGroups` as
   * indices, their names and where they come from, `spatialMask`; HPM: `hardPatchShare`).
   */
  options?: {
    blurSigma?: number;
    featureTargets?: FeatureTarget[];
    bandGroups?: number[][];
    bandGroupNames?: string[][];
    bandGroupSource?: string;
    spatialMask?: boolean;
    /** HPM: the share of the masked patches chosen as predicted-hardest by the end of training. */
    hardPatchShare?: number;
    /** SatMAE temporal: dates per sample and whether a patch is masked at every date at once. */
    frames?: number;
    sameMask?: boolean;
  };
  /** SatMAE temporal: the project's places and dates (absent for other recipes). */
  series?: ImageSeriesSummary;
  /** False when this project's images cannot train it (SatMAE temporal without series); `why` says why. */
  available?: boolean;
}

/** A project's image series by place, as SatMAE's temporal recipe finds them (data/series.ts). */
export interface ImageSeriesSummary {
  /** Folders holding two dated images or more. */
  places: number;
  /** Images in those places. */
  datedImages: number;
  /** Fewest and most dates of a place (null without places). */
  datesPerPlace: { min: number; max: number } | null;
  /** The first places by name: dates and the first and last date. */
  placeList: { name: string; dates: number; first: string; last: string }[];
  /** The first images in no place, with why (no date, or the only dated image of their folder). */
  left: { path: string; reason: string }[];
  /** All images in no place. */
  leftCount: number;
}

/** A run's domain recipe as the history, the run panel and the model card name it. */
export interface DomainRecipeSummary {
  name: DomainRecipeName;
  label: string;
  /** Its options in words: "encoder sees the image blurred by a Gaussian of σ 1.5 px; …". */
  details: string;
  /** The paper it follows, in full. */
  citation: string;
  /** Whether the model predicts pixels, so the run draws reconstruction grids (not FG-MAE on features only). */
  reconstructs: boolean;
}
