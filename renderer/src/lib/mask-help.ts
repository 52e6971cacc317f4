/**
 * The mask preview's sentences: what each strategy hides and what each recipe's extra panels
 * show, worded from the engine's answer (`MaskPreview`).
 */
import type { MaskPreview, MaskStrategy } from '$contract';

/** One line per masking strategy, under the controls. */
export const STRATEGY_HELP: Record<MaskStrategy, string> = {
  random: 'Each patch hidden independently, as in the MAE paper.',
  block: 'Contiguous blocks hidden (BEiT): harder, forces longer-range context.',
  noise: 'Band-pass noise decides (ColorMAE): clustered but irregular holes.',
};

/** Said after the strategy's help when the recipe blurs what the encoder sees. */
export const BLUR_HELP =
  "px as the deblurring MAE's encoder sees it; its loss compares the masked patches with the sharp image.";

/** What HPM's masks are, under the controls. */
export function hardPatchHelp(hard: NonNullable<MaskPreview['hardPatches']>): string {
  return (
    'HPM (Wang et al. 2023): at the start its loss predictor has learned nothing, so the mask is random, as ' +
    `shown. The share it mines grows over training: by the end ${hard.count} of the ${hard.masked} masked ` +
    `patches (${Math.round(hard.share * 100)}%) are the ones its predictor ranks hardest to reconstruct, the ` +
    'rest random. Which patches those are is learned from your images during training.'
  );
}

/** What the date panels show, under the controls. */
export function dateHelp(mask: MaskPreview, count: number): string {
  const masking = mask.sameMask
    ? 'one mask hides the same patches at every date.'
    : "one draw over every date's patches hides the set share of them all, so a patch hidden at one date may be " +
      "seen at another, and each date's share varies.";
  const pictures = mask.datePictures
    ? ''
    : ' This image is in no series (a folder per place, dates in the names), so every panel shows it.';
  return (
    `SatMAE temporal (Cong et al. 2022): ${count} dates of one place, each its own ${mask.numPatches} tokens with ` +
    `its date encoded; ${masking}${pictures} The panels below show the first date.`
  );
}

/** A band-group count as the select names it. */
export function groupLabel(count: number): string {
  return count === 1 ? 'none (one token per patch)' : `${count} groups (SatMAE)`;
}

/** What the group panels show, under the controls. */
export function groupHelp(mask: MaskPreview, groups: number): string {
  const masking = mask.spatialMask
    ? 'one mask hides the same patches in every group.'
    : `one draw over all ${groups} × ${mask.numPatches} tokens at once, so a patch hidden in one group may be seen ` +
      'in another and the count each group hides varies from draw to draw (the total is fixed).';
  return (
    `SatMAE (Cong et al. 2022): every band group has its own tokens, so ${groups} × ${mask.numPatches} ` +
    `tokens; ${masking} The panels below show group 1.`
  );
}
