/**
 * Normalised-difference indices per patch, FG-MAE's second feature target for multispectral
 * images (Wang et al. 2023): NDVI = (nir − red)/(nir + red), NDWI = (green − nir)/(green + nir)
 * (McFeeters), NDBI = (swir − nir)/(swir + nir), each a p×p map per patch as the reference
 * regresses them. Bands are found by their names in the channel plan (GeoTIFF band descriptions,
 * OME channel names); indices are ratios of physical values, so the batch's normalisation is
 * undone first (value = x · scale + shift per channel). Values are clipped to [−1, 1]: the
 * index's range for non-negative reflectances; an offset or a negative value (L2A offsets, noise
 * near 0) cannot then swamp the loss.
 */
import type { FeatureTarget } from '../../contract';

/** The spectral indices (every feature target but pixels and HOG). */
export const SPECTRAL_INDICES = ['ndvi', 'ndwi', 'ndbi'] as const;
export type SpectralIndex = (typeof SPECTRAL_INDICES)[number];

/** The band roles the indices read. */
export type BandRole = 'red' | 'green' | 'nir' | 'swir';

/** Each index as (a − b)/(a + b). */
export const INDEX_BANDS: Readonly<Record<SpectralIndex, readonly [BandRole, BandRole]>> = {
  ndvi: ['nir', 'red'],
  ndwi: ['green', 'nir'],
  ndbi: ['swir', 'nir'],
};

/** A model channel that plays a role, with the name it was found by. */
export interface BandRef {
  channel: number;
  name: string;
}

/** Whether a feature target is a spectral index. */
export function isSpectralIndex(target: FeatureTarget): target is SpectralIndex {
  return (SPECTRAL_INDICES as readonly string[]).includes(target);
}

/** Words of a band name, lower case: "B8 (NIR)" → ["b8", "nir"]. */
function words(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/** Whether a band name names the role ("red" but not "red edge"; "nir", "near infrared"; "swir", "swir1", "swir16"). */
function namesRole(name: string, role: BandRole): boolean {
  const parts = words(name);
  const joined = parts.join(' ');
  switch (role) {
    case 'red':
      return parts.includes('red') && !/\bred ?edge\b|\brededge\b|\binfra ?red\b/.test(joined);
    case 'green':
      return parts.includes('green');
    case 'nir':
      return parts.includes('nir') || /\bnear ?infra ?red\b/.test(joined);
    case 'swir':
      return parts.some((word) => /^swir(1|16)?$/.test(word)) || /\bshort ?wave infra ?red\b/.test(joined);
  }
}

/**
 * The first model channel whose band name names each role. `names[k]` is the name of model
 * channel k (null when the file gave none).
 */
export function findBands(names: readonly (string | null)[]): Partial<Record<BandRole, BandRef>> {
  const found: Partial<Record<BandRole, BandRef>> = {};
  for (const role of ['red', 'green', 'nir', 'swir'] as const) {
    const channel = names.findIndex((name) => name !== null && namesRole(name, role));
    if (channel >= 0) found[role] = { channel, name: names[channel]! };
  }
  return found;
}

/** Why an index cannot be computed from these bands, or null when it can. */
export function missingBandsFor(
  index: SpectralIndex,
  bands: Partial<Record<BandRole, BandRef>>,
  names: readonly (string | null)[],
): string | null {
  const needed = INDEX_BANDS[index];
  const missing = needed.filter((role) => !bands[role]);
  if (missing.length === 0) return null;
  const named = names.filter((name): name is string => name !== null);
  const have =
    named.length === 0
      ? 'the images name none of their bands (band names come from GeoTIFF band descriptions or OME channel names)'
      : `the bands are named ${named.map((name) => `"${name}"`).join(', ')}`;
  return (
    `${index.toUpperCase()} needs bands named ${needed.join(' and ')}` +
    ` in the channel plan; missing: ${missing.join(', ')} (${have})`
  );
}

/**
 * The indices of planar normalised images [B, C, H, W] per patch: [B, L, K · p · p] for the K
 * `indices`, values ordered (index, row, column) inside a patch like `patchify`'s (c, i, j).
 */
export function indicesPerPatch(
  images: Float32Array,
  shape: { batchSize: number; channels: number; height: number; width: number },
  patchSize: number,
  indices: readonly SpectralIndex[],
  bands: Partial<Record<BandRole, BandRef>>,
  unscale: { scale: readonly number[]; shift: readonly number[] },
): Float32Array {
  const { batchSize, channels, height, width } = shape;
  const [rows, columns] = [height / patchSize, width / patchSize];
  const plane = height * width;
  const perPatch = indices.length * patchSize * patchSize;
  const out = new Float32Array(batchSize * rows * columns * perPatch);
  const value = (b: number, role: BandRole, pixel: number) => {
    const channel = bands[role]!.channel;
    return images[(b * channels + channel) * plane + pixel]! * unscale.scale[channel]! + unscale.shift[channel]!;
  };
  for (const [k, index] of indices.entries()) {
    const [first, second] = INDEX_BANDS[index];
    if (!bands[first] || !bands[second])
      throw new Error(`${index.toUpperCase()} needs the ${first} and ${second} bands`);
    for (let b = 0; b < batchSize; b++) {
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const a = value(b, first, y * width + x);
          const c = value(b, second, y * width + x);
          const ratio = (a - c) / (a + c + 1e-5); // the reference's epsilon
          const patch = (b * rows + Math.floor(y / patchSize)) * columns + Math.floor(x / patchSize);
          out[patch * perPatch + k * patchSize * patchSize + (y % patchSize) * patchSize + (x % patchSize)] =
            Number.isFinite(ratio) ? Math.min(1, Math.max(-1, ratio)) : 0;
        }
      }
    }
  }
  return out;
}
