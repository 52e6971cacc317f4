/**
 * The channel part of the contract: how images of each channel count in a project become the
 * channel plan's input bands (grey repeated, RGB to luminance, alpha dropped) or are left out,
 * and what Curate shows about it. The choice table is a pure function here, so the Curate screen
 * offers exactly the conversions the engine accepts. `contract.ts` re-exports everything.
 */

/** How images of one channel count become the plan's `inputChannels` bands. */
export const CHANNEL_CONVERSIONS = ['keep', 'repeat', 'luminance', 'drop-alpha', 'exclude'] as const;
export type ChannelConversion = (typeof CHANNEL_CONVERSIONS)[number];

/**
 * Rec. 601 luma weights for R, G, B (what PIL's `convert('L')` and OpenCV's `COLOR_RGB2GRAY` use,
 * so a model trained here sees grey values like those of common pipelines).
 */
export const LUMINANCE_WEIGHTS = [0.299, 0.587, 0.114] as const;

/**
 * The conversions that bring `source`-channel images to `target` bands, the preferred one first
 * ('exclude', leaving them out of training, is always last):
 * same count → keep; grey (1) → any count but 2 by repetition; grey + alpha (2) → grey by
 * dropping alpha, or → 3+ by repeating the grey band; RGB (3) → grey by luminance;
 * RGBA (4) → RGB by dropping alpha, or → grey by luminance. Anything else can only be left out.
 */
export function conversionChoices(source: number, target: number): ChannelConversion[] {
  const choices: ChannelConversion[] = [];
  if (source === target) choices.push('keep');
  else if (source === 1 && target !== 2) choices.push('repeat');
  else if (source === 2 && target === 1) choices.push('drop-alpha');
  else if (source === 2 && target >= 3) choices.push('repeat');
  else if ((source === 3 || source === 4) && target === 1) choices.push('luminance');
  else if (source === 4 && target === 3) choices.push('drop-alpha');
  return [...choices, 'exclude'];
}

/** Images of one channel count among a project's kept images. */
export interface ChannelGroup {
  channels: number;
  images: number;
  /** Labels of those images with their counts (null: not in a sub-folder). */
  labels: { label: string | null; count: number }[];
  /** What the plan does with them. */
  conversion: ChannelConversion;
  /** Whether the user chose it (saved in the plan) or it is the default for this count. */
  chosen: boolean;
}

/** What a channel plan keeps of a project: the counts Curate, the New-run dialog and runs show. */
export interface ChannelCoverage {
  /** Kept images (not failed, duplicate or excluded by the user) the plan feeds to training. */
  keptImages: number;
  /** Kept images the plan leaves out (their channel count's conversion is 'exclude'). */
  leftOutImages: number;
  /** Labels none of whose images the plan keeps, sorted. */
  excludedClasses: string[];
}
