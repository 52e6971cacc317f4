/**
 * Per-channel statistics of raw pixels, from one pass that fills a histogram per channel:
 * counting is the only per-pixel work, mean, spread and percentiles come from the bins.
 */
import type { ChannelStats } from '../../contract';

/** Statistics of one image: what is stored, and the display range of each channel. */
export interface PixelSummary {
  stats: ChannelStats[];
  /** 0.5th percentile of each channel (display black point). */
  low: number[];
  /** 99.5th percentile of each channel (display white point). */
  high: number[];
}

/** Share of pixels clipped at each end when a thumbnail stretches a channel. */
export const DISPLAY_CLIP = 0.005;

/**
 * Mean, standard deviation (population), min and max of each channel of interleaved pixels, in
 * the image's own units, plus the 0.5 / 99.5 percentiles used to display it.
 */
export function summarizePixels(pixels: Uint8Array | Uint16Array, channels: number, bitDepth: 8 | 16): PixelSummary {
  const bins = bitDepth === 16 ? 65536 : 256;
  const histogram = new Uint32Array(bins * channels);
  countValues(pixels, channels, bins, histogram);
  const count = pixels.length / channels;
  const summary: PixelSummary = { stats: [], low: [], high: [] };
  for (let channel = 0; channel < channels; channel++) {
    const bars = histogram.subarray(channel * bins, (channel + 1) * bins);
    summary.stats.push(statsOfHistogram(bars, count));
    summary.low.push(percentileOfHistogram(bars, count, DISPLAY_CLIP));
    summary.high.push(percentileOfHistogram(bars, count, 1 - DISPLAY_CLIP));
  }
  return summary;
}

function countValues(pixels: Uint8Array | Uint16Array, channels: number, bins: number, histogram: Uint32Array): void {
  const length = pixels.length;
  if (channels === 1) {
    for (let index = 0; index < length; index++) histogram[pixels[index]!]!++;
    return;
  }
  if (channels === 3) {
    // The common case gets its own loop: one pass, three counters, no inner loop.
    const green = bins;
    const blue = 2 * bins;
    for (let index = 0; index < length; index += 3) {
      histogram[pixels[index]!]!++;
      histogram[green + pixels[index + 1]!]!++;
      histogram[blue + pixels[index + 2]!]!++;
    }
    return;
  }
  for (let channel = 0; channel < channels; channel++) {
    const offset = channel * bins;
    for (let index = channel; index < length; index += channels) histogram[offset + pixels[index]!]!++;
  }
}

function statsOfHistogram(bars: Uint32Array, count: number): ChannelStats {
  if (count === 0) return { mean: 0, std: 0, min: 0, max: 0 };
  let min = -1;
  let max = 0;
  let sum = 0;
  for (let value = 0; value < bars.length; value++) {
    const frequency = bars[value]!;
    if (frequency === 0) continue;
    if (min < 0) min = value;
    max = value;
    sum += frequency * value;
  }
  const mean = sum / count;
  // Second pass over the bins (not the pixels) keeps the variance exact for large 16-bit images.
  let squares = 0;
  for (let value = min; value <= max; value++) {
    const frequency = bars[value]!;
    if (frequency !== 0) squares += frequency * (value - mean) * (value - mean);
  }
  return { mean, std: Math.sqrt(squares / count), min, max };
}

/** Smallest value with at least `fraction` of the pixels at or below it. */
function percentileOfHistogram(bars: Uint32Array, count: number, fraction: number): number {
  const target = Math.max(1, Math.ceil(fraction * count));
  let cumulative = 0;
  for (let value = 0; value < bars.length; value++) {
    cumulative += bars[value]!;
    if (cumulative >= target) return value;
  }
  return bars.length - 1;
}
