/**
 * What the embedding map can colour its points by, read fresh on every request (labels, the split
 * and exclusion change without changing the embeddings): label, split, format, excluded, and the
 * mean and standard deviation of the first channels from the stored per-image statistics.
 */
import type { ChannelStats, MapColouring } from '../../contract';

/** Channels whose statistics the map offers (an RGB image's three, a multispectral image's first four). */
export const MAP_STAT_CHANNELS = 4;

/** One point's attributes. */
export interface MapPoint {
  label: string | null;
  format: string | null;
  split: string | null;
  excluded: boolean;
  stats: ChannelStats[] | null;
}

function category(name: string, values: (string | null)[]): MapColouring {
  const categories = [...new Set(values.filter((value): value is string => value !== null && value !== ''))].sort();
  const index = new Map(categories.map((value, i) => [value, i]));
  return {
    name,
    kind: 'category',
    categories,
    values: values.map((value) => (value === null || value === '' ? -1 : index.get(value)!)),
  };
}

/** The colourings of `points`, in the order the colour-by menu lists them. */
export function mapColourings(points: readonly MapPoint[]): MapColouring[] {
  const colourings = [
    category(
      'label',
      points.map((point) => point.label),
    ),
    category(
      'split',
      points.map((point) => point.split),
    ),
    category(
      'format',
      points.map((point) => point.format),
    ),
    category(
      'excluded',
      points.map((point) => (point.excluded ? 'excluded' : 'kept')),
    ),
  ];
  const channels = Math.min(
    MAP_STAT_CHANNELS,
    points.reduce((most, point) => Math.max(most, point.stats?.length ?? 0), 0),
  );
  for (let channel = 0; channel < channels; channel++) {
    for (const stat of ['mean', 'std'] as const) {
      colourings.push({
        name: `${stat} · channel ${channel + 1}`,
        kind: 'number',
        values: points.map((point) => point.stats?.[channel]?.[stat] ?? null),
      });
    }
  }
  return colourings;
}
