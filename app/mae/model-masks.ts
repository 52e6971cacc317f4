/**
 * The masks a model trains with, by its token layout: over its L patches (the MAE), over the
 * G·L band-group tokens (SatMAE, grouped-bands.ts), over the C·L channel tokens (CA-MAE,
 * channel-agnostic.ts) or over the T·L tokens of T dates (SatMAE temporal, temporal.ts).
 * Training, validation and the mask preview draw them here alike.
 */
import { channelAgnosticMasks } from './channel-agnostic';
import { gridSize, type MaeConfig } from './config';
import { groupedMasks } from './grouped-bands';
import { makeMasks, type MaskSet, type MaskStrategyName } from './masking';
import type { Rng } from './rng';
import { temporalMasks } from './temporal';

/** Masks for a batch of `config`'s images: `numPatches` of the set is `tokenCount(config)`. */
export function masksForModel(
  config: MaeConfig,
  strategy: MaskStrategyName,
  options: { batchSize: number; maskRatio: number },
  rng: Rng,
): MaskSet {
  const grid = { ...options, gridSide: gridSize(config).side };
  if (config.temporal) return temporalMasks(strategy, grid, config.temporal, rng);
  if (config.groupedBands) return groupedMasks(strategy, grid, config.groupedBands, rng);
  if (config.channelAgnostic) return channelAgnosticMasks(strategy, grid, config.inChans, rng);
  return makeMasks(strategy, grid, rng);
}
