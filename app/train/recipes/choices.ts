/**
 * Which domain recipe suits a project's images, in one sentence each (the new-run dialog's
 * suggestion), and a recipe as the user chose it turned into the run's `DomainRecipeConfig`:
 * options defaulted, spectral bands found by name in the channel plan, with an error naming the
 * missing bands when an index cannot be computed.
 */
import { FEATURE_TARGETS, type Domain, type DomainRecipeChoice, type FeatureTarget, type Recipe } from '../../contract';
import { DEFAULT_DOMAIN_RECIPE_OPTIONS, DOMAIN_RECIPE_INFO, type DomainRecipeConfig } from './domain-recipes';
import { presetBandGroups, resolveBandGroups, sentinel2Evidence } from './band-groups';
import { findBands, INDEX_BANDS, isSpectralIndex, missingBandsFor, SPECTRAL_INDICES } from './indices';
import { summarizeSeries, type SeriesDetection } from '../../data/series';
import { placesFor, planTemporalRecipe } from './temporal-data';

/** What the suggestion looks at. */
export interface ProjectImages {
  domain: Domain;
  /** Channels the model sees. */
  channels: number;
  /** The name of each model channel (null: none given). */
  bandNames: (string | null)[];
  /** DICOM modalities of the images, most images first. */
  modalities: string[];
  /** The images' series by place (SatMAE temporal); absent: none looked for. */
  series?: SeriesDetection;
}

/** How a run's batches are normalised, per model channel: value = x · scale + shift. */
export interface Unscale {
  scale: number[];
  shift: number[];
}

/**
 * The run's recipe from the user's choice; throws `pretrain.featureTargets: …` naming the
 * missing bands (the dialog shows it under Feature targets).
 */
export function planDomainRecipe(
  options: Pick<
    Recipe,
    | 'domainRecipe'
    | 'blurSigma'
    | 'featureTargets'
    | 'bandGroups'
    | 'spatialMask'
    | 'hardPatchShare'
    | 'dates'
    | 'sameMask'
  >,
  bandNames: (string | null)[],
  unscale: Unscale,
  series: () => SeriesDetection = () => ({ places: [], left: [] }),
): DomainRecipeConfig | undefined {
  switch (options.domainRecipe ?? 'mae') {
    case 'mae':
      return undefined;
    case 'deblur':
      return { name: 'deblur', blurSigma: options.blurSigma ?? DEFAULT_DOMAIN_RECIPE_OPTIONS.blurSigma };
    case 'satmae-temporal':
      return planTemporalRecipe(options, series());
    case 'camae':
      return { name: 'camae', fourierLossWeight: DEFAULT_DOMAIN_RECIPE_OPTIONS.fourierLossWeight };
    case 'hpm':
      return {
        name: 'hpm',
        finalHardShare: options.hardPatchShare ?? DEFAULT_DOMAIN_RECIPE_OPTIONS.finalHardShare,
        lossPredictorWeight: DEFAULT_DOMAIN_RECIPE_OPTIONS.lossPredictorWeight,
      };
    case 'fgmae': {
      const targets = orderTargets(options.featureTargets ?? DEFAULT_DOMAIN_RECIPE_OPTIONS.featureTargets);
      const bands = findBands(bandNames);
      const problems = targets
        .filter(isSpectralIndex)
        .map((index) => missingBandsFor(index, bands, bandNames))
        .filter((problem) => problem !== null);
      if (problems.length > 0) throw new Error(`pretrain.featureTargets: ${problems.join('; ')}`);
      if (!targets.some(isSpectralIndex)) return { name: 'fgmae', targets };
      return { name: 'fgmae', targets, bands, unscale };
    }
    case 'satmae': {
      const groups = options.bandGroups
        ? resolveBandGroups(options.bandGroups, bandNames)
        : presetBandGroups(bandNames);
      return {
        name: 'satmae',
        groups: groups.groups,
        groupNames: groups.names,
        spatialMask: options.spatialMask ?? DEFAULT_DOMAIN_RECIPE_OPTIONS.spatialMask,
      };
    }
  }
}

/** Targets in the one order the heads and losses use (pixels, hog, indices). */
function orderTargets(targets: readonly FeatureTarget[]): FeatureTarget[] {
  return FEATURE_TARGETS.filter((target) => targets.includes(target));
}

/** Every recipe for this project, the suggested one marked, each with why in one sentence. */
export function domainRecipeChoices(images: ProjectImages): DomainRecipeChoice[] {
  const bands = findBands(images.bandNames);
  const indices = SPECTRAL_INDICES.filter((index) => missingBandsFor(index, bands, images.bandNames) === null);
  const ultrasound = images.modalities[0] === 'US';
  const multiband = images.channels >= 2 && (images.domain === 'remote-sensing' || indices.length > 0);
  // Sentinel-2's bands by name (any domain), or 13/12/10 unnamed bands where the project is not marked
  // microscopy or medical: satellite images whatever the project says.
  const evidence = sentinel2Evidence(images.bandNames);
  const sentinel2 =
    evidence === 'names' || (evidence === 'count' && images.domain !== 'microscopy' && images.domain !== 'medical');
  const manyBands = images.channels >= 10 && (images.domain === 'remote-sensing' || sentinel2);
  // Ultrasound DICOMs are often stored as RGB (or YBR) although grey: the modality decides.
  // Cell Painting and other fluorescence stains: one channel per dye, and other plates carry
  // other counts.
  const stains = images.domain === 'microscopy' && images.channels >= 4;
  const suggested = ultrasound ? 'deblur' : manyBands ? 'satmae' : stains ? 'camae' : multiband ? 'fgmae' : 'mae';
  const groups = presetBandGroups(images.bandNames);
  const groupCount = groups.groups.length;
  const satmaeWhy = manyBands
    ? `These ${images.channels}-band images have bands of different ground resolutions and physics; ` +
      'SatMAE gives each band group its own tokens and masks them apart, which Cong et al. found ' +
      'better than one token over all bands' +
      (images.domain === 'remote-sensing'
        ? '.'
        : evidence === 'names'
          ? ` (the bands are named as Sentinel-2's, though the project is marked ${images.domain}).`
          : ` (${images.channels} unnamed bands are taken as Sentinel-2's, though the project is marked ` +
            `${images.domain}).`)
    : images.channels >= 4
      ? `Made for satellite images with 10 or more bands (Cong et al.): each of the ${groupCount} band groups ` +
        `gets its own tokens, about ${groupCount}× the compute of one token per patch` +
        `${images.domain === 'remote-sensing' ? '' : '; this project is not marked remote sensing'}.`
      : 'Made for multispectral images with many bands: these images have ' +
        `${images.channels} channel${images.channels === 1 ? '' : 's'}, too few to group.`;
  const named = images.bandNames.filter((name) => name !== null).length;
  const fgmaeWhy =
    indices.length > 0
      ? `These ${images.channels}-band images name their bands, so FG-MAE can regress HOG and ` +
        `${indices.map((index) => index.toUpperCase()).join(', ')} per patch, ` +
        `targets Wang et al. found better than raw pixels for multispectral images.`
      : images.channels >= 2 && images.domain === 'remote-sensing'
        ? `For ${images.channels}-band remote-sensing images (SAR included) FG-MAE regresses HOG, which speckle ` +
          `and noise disturb less than pixels (Wang et al.); spectral indices need bands ` +
          `named red, nir, green or swir${named === 0 ? ', and these files name none' : ''}.`
        : 'Made for multispectral and SAR images (HOG, and spectral indices from named bands); ' +
          'this project is not marked remote sensing.';
  const deblurWhy = ultrasound
    ? 'These are ultrasound scans: Kang et al. found that having the encoder see a ' +
      'blurred image and regress the sharp one helps on such noisy, low-SNR images.'
    : images.channels === 1 && images.domain === 'medical'
      ? 'Made for ultrasound and other low-SNR grey scans (Kang et al.): the encoder sees a ' +
        'blurred image and regresses the sharp one; these scans are not marked as ultrasound.'
      : 'Made for ultrasound and other low-SNR grey scans: the ' +
        'encoder sees a blurred image and regresses the sharp one.';
  const maeWhy =
    suggested === 'mae'
      ? "The paper's recipe, which suits these images: nothing about them calls for a domain recipe."
      : "The paper's recipe: masked patches regressed as pixels, the baseline the domain recipes are measured against.";
  const camaeWhy = stains
    ? `These ${images.channels}-channel microscopy images have one stain per channel: CA-MAE tokenises each ` +
      'channel on its own (Kraus et al.), so the encoder learns each stain and later embeds plates with 3 or 6 ' +
      'channels too.'
    : images.domain === 'microscopy'
      ? 'Made for multi-stain fluorescence microscopy (4 channels or more, like 5-channel Cell Painting); ' +
        `these images have ${images.channels}.`
      : 'Made for multi-stain fluorescence microscopy (like 5-channel Cell Painting): every channel is ' +
        'tokenised on its own, so the encoder takes any channel count.';
  const fgmaeTargets: FeatureTarget[] = ['hog', ...indices];
  return [
    { name: 'mae', ...DOMAIN_RECIPE_INFO.mae, suggested: suggested === 'mae', why: maeWhy },
    {
      name: 'deblur',
      ...DOMAIN_RECIPE_INFO.deblur,
      suggested: suggested === 'deblur',
      why: deblurWhy,
      options: { blurSigma: DEFAULT_DOMAIN_RECIPE_OPTIONS.blurSigma },
    },
    {
      name: 'fgmae',
      ...DOMAIN_RECIPE_INFO.fgmae,
      suggested: suggested === 'fgmae',
      why: fgmaeWhy,
      options: { featureTargets: fgmaeTargets },
      targets: FEATURE_TARGETS.map((target) => {
        if (!isSpectralIndex(target)) {
          return {
            target,
            available: true,
            reason:
              target === 'hog'
                ? 'Histograms of oriented gradients per patch, each channel on its own.'
                : "The patch's pixels, as the plain MAE regresses them.",
          };
        }
        const problem = missingBandsFor(target, bands, images.bandNames);
        return { target, available: problem === null, reason: problem ?? `From ${describeBands(target, bands)}.` };
      }),
    },
    {
      name: 'satmae',
      ...DOMAIN_RECIPE_INFO.satmae,
      suggested: suggested === 'satmae',
      why: satmaeWhy,
      options: {
        bandGroups: groups.groups,
        bandGroupNames: groups.names,
        bandGroupSource: groups.source,
        spatialMask: DEFAULT_DOMAIN_RECIPE_OPTIONS.spatialMask,
      },
    },
    { name: 'camae', ...DOMAIN_RECIPE_INFO.camae, suggested: suggested === 'camae', why: camaeWhy },
    {
      name: 'hpm',
      ...DOMAIN_RECIPE_INFO.hpm,
      suggested: false,
      why:
        'For any images: a second decoder head learns which patches the model reconstructs worst, and masking ' +
        'hides more and more of those as training goes on (Wang et al. found it beat the MAE on ImageNet); ' +
        'the extra head costs about one more decoder per step.',
      options: { hardPatchShare: DEFAULT_DOMAIN_RECIPE_OPTIONS.finalHardShare },
    },
    temporalChoice(images.series ?? { places: [], left: [] }),
  ];
}

/** SatMAE temporal as offered: available only when some place has two dates or more, and why. */
function temporalChoice(series: SeriesDetection): DomainRecipeChoice {
  const summary = summarizeSeries(series);
  const frames = DEFAULT_DOMAIN_RECIPE_OPTIONS.frames;
  const enough = placesFor(series, frames);
  const range = summary.datesPerPlace;
  const counts = range && (range.min === range.max ? `${range.min}` : `${range.min}–${range.max}`);
  const short = enough.leftOut.length;
  const leftOut =
    short > 0
      ? `; ${short} place${short === 1 ? ' has' : 's have'} fewer than ${frames} dates, left out at ${frames}`
      : '';
  const why =
    summary.places === 0
      ? 'Needs image series: one folder per place holding two or more images of it taken on different dates ' +
        '(a date in the file name, like 2021-06-15 or 20210615, or a TIFF DateTime tag); ' +
        (summary.leftCount > 0
          ? `none here (${summary.left[0]!.path}: ${summary.left[0]!.reason}).`
          : 'this project has no images.')
      : `${summary.places} place${summary.places === 1 ? '' : 's'} with ${counts} dates each: SatMAE learns from ` +
        'several dates of one place, each date its own tokens with a year/month/hour encoding ' +
        `(Cong et al.)${leftOut}.`;
  return {
    name: 'satmae-temporal',
    ...DOMAIN_RECIPE_INFO['satmae-temporal'],
    suggested: false,
    why,
    available: summary.places > 0,
    series: summary,
    options: { frames: Math.min(frames, range?.max ?? frames), sameMask: DEFAULT_DOMAIN_RECIPE_OPTIONS.sameMask },
  };
}

function describeBands(index: (typeof SPECTRAL_INDICES)[number], bands: ReturnType<typeof findBands>): string {
  return INDEX_BANDS[index].map((role) => `${role} "${bands[role]!.name}"`).join(' and ');
}
