/**
 * SatMAE's band groups (Cong et al. 2022) for a project's images: the preset found from the
 * channel plan's band names (Sentinel-2's groups of the paper: visible + NIR, red edge + narrow
 * NIR, SWIR, with the 60 m bands B1, B9, B10 left out) or from the channel count, and the groups
 * a user typed (band indices or names) resolved against the channel plan, with errors naming
 * `bandGroups` and the bad value.
 */

/** A run's band groups: model channels per group, and the names they were given (for the screens). */
export interface BandGroupPlan {
  groups: number[][];
  /** The same groups as band names ("B2", or "band 3" where the file names none). */
  names: string[][];
  /** Where the groups come from, in words: "Sentinel-2 groups of SatMAE, found by band name". */
  source: string;
}

/** The paper's Sentinel-2 groups by band: (B2, B3, B4, B8), (B5, B6, B7, B8A), (B11, B12). */
export const SENTINEL2_GROUPS: readonly (readonly string[])[] = [
  ['B2', 'B3', 'B4', 'B8'],
  ['B5', 'B6', 'B7', 'B8A'],
  ['B11', 'B12'],
];

/** Sentinel-2 band orders by channel count when the file names no bands (L1C 13, L2A 12, SatMAE's 10). */
const SENTINEL2_ORDERS: Readonly<Record<number, readonly string[]>> = {
  13: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B9', 'B10', 'B11', 'B12'],
  12: ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B9', 'B11', 'B12'],
  10: ['B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B11', 'B12'],
};

/** The Sentinel-2 band a name denotes ("B02", "b8a", "B4 red", "B04 (665 nm)" → "B2", "B8A", "B4"), or null. */
export function sentinel2Band(name: string | null): string | null {
  const match = /^\s*b0?(\d{1,2})(a?)(?![0-9a-z])/i.exec(name ?? '');
  if (!match) return null;
  const band = `B${Number(match[1])}${match[2]!.toUpperCase()}`;
  return /^B([1-9]|1[0-2]|8A)$/.test(band) ? band : null;
}

function bandLabel(names: readonly (string | null)[], channel: number): string {
  return names[channel] ?? `band ${channel + 1}`;
}

function plan(groups: number[][], names: readonly (string | null)[], source: string): BandGroupPlan {
  return { groups, names: groups.map((group) => group.map((channel) => bandLabel(names, channel))), source };
}

/**
 * How a channel plan says Sentinel-2: by its band names (4 or more of SatMAE's grouped bands named
 * B2 … B12), by its count alone when no band is named (13, 12 or 10: L1C, L2A, SatMAE's), or not.
 */
export function sentinel2Evidence(names: readonly (string | null)[]): 'names' | 'count' | null {
  const named = new Set(names.map(sentinel2Band));
  if (SENTINEL2_GROUPS.flat().filter((band) => named.has(band)).length >= 4) return 'names';
  return names.every((name) => name === null) && SENTINEL2_ORDERS[names.length] ? 'count' : null;
}

/**
 * The suggested groups for these model channels: Sentinel-2's when the names (or, unnamed, a
 * count of 13, 12 or 10) say Sentinel-2; else visible (first three) / NIR (fourth) / the rest
 * (SWIR and beyond) for 4–11 bands; else one group per band.
 */
export function presetBandGroups(names: readonly (string | null)[]): BandGroupPlan {
  const channels = names.length;
  const named = names.map(sentinel2Band);
  const byName = SENTINEL2_GROUPS.map((group) =>
    group.map((band) => named.indexOf(band)).filter((channel) => channel >= 0),
  ).filter((group) => group.length > 0);
  if (byName.flat().length >= 4) return plan(byName, names, 'Sentinel-2 groups of SatMAE, found by band name');
  const order = names.every((name) => name === null) ? SENTINEL2_ORDERS[channels] : undefined;
  if (order) {
    const groups = SENTINEL2_GROUPS.map((group) => group.map((band) => order.indexOf(band)));
    return plan(
      groups,
      order,
      `Sentinel-2 groups of SatMAE, assuming the ${channels}-band Sentinel-2 order (the files name no bands)`,
    );
  }
  if (channels >= 4 && channels <= 11) {
    const rest = Array.from({ length: channels - 4 }, (_, k) => 4 + k);
    return plan(
      [[0, 1, 2], [3], ...(rest.length > 0 ? [rest] : [])],
      names,
      'visible (bands 1–3), NIR (band 4) and the rest (SWIR and beyond)',
    );
  }
  return plan(
    Array.from({ length: channels }, (_, channel) => [channel]),
    names,
    'one group per band',
  );
}

/**
 * Groups as the user gave them (band indices from 0, or names from the channel plan, or
 * Sentinel-2 names like "B8A") → model channels. Throws `pretrain.bandGroups…` naming the
 * group and the value: unknown name, index out of range, a band twice, an empty group.
 */
export function resolveBandGroups(
  input: readonly (readonly (number | string)[])[],
  names: readonly (string | null)[],
): BandGroupPlan {
  const channels = names.length;
  // unnamed: "B8" by the assumed order, as the preset shows it
  const order = names.every((name) => name === null) ? SENTINEL2_ORDERS[channels] : undefined;
  if (!Array.isArray(input) || input.length === 0)
    throw new Error(`pretrain.bandGroups must list at least one group of bands, got ${JSON.stringify(input)}`);
  const seen = new Map<number, number>();
  const groups = input.map((group, g) => {
    if (!Array.isArray(group) || group.length === 0)
      throw new Error(`pretrain.bandGroups[${g}] must name at least one band, got ${JSON.stringify(group)}`);
    return group.map((band) => {
      const channel = typeof band === 'number' ? band : channelByName(band, names, order);
      if (!Number.isInteger(channel) || channel < 0 || channel >= channels) {
        const known = order
          ? `${order.join(', ')} in the Sentinel-2 order assumed, or band 1..${channels}`
          : names.map((name, k) => bandLabel(names, k) + (name === null ? '' : ` (${k})`)).join(', ');
        throw new Error(
          typeof band === 'number'
            ? `pretrain.bandGroups[${g}] must hold band indices 0..${channels - 1}, got ${band}`
            : `pretrain.bandGroups[${g}] names no band of these images: ${JSON.stringify(band)} (bands: ${known})`,
        );
      }
      if (seen.has(channel)) {
        throw new Error(
          `pretrain.bandGroups[${g}] names ${JSON.stringify(band)} (band ${channel}) already in group ` +
            `${seen.get(channel)}; each band belongs to one group at most`,
        );
      }
      seen.set(channel, g);
      return channel;
    });
  });
  return plan(groups, names, 'groups as given');
}

/**
 * A band's channel by its name in the channel plan, its Sentinel-2 name, or "band k" (1-based, as
 * the screens label unnamed bands).
 */
function channelByName(band: string, names: readonly (string | null)[], order: readonly string[] | undefined): number {
  const exact = names.findIndex((name) => name !== null && name.trim().toLowerCase() === band.trim().toLowerCase());
  if (exact >= 0) return exact;
  const numbered = /^band (\d+)$/i.exec(band.trim());
  if (numbered) return Number(numbered[1]) - 1;
  const wanted = sentinel2Band(band);
  if (wanted === null) return -1;
  return order ? order.indexOf(wanted) : names.findIndex((name) => sentinel2Band(name) === wanted);
}
