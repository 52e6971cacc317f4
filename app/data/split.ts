/**
 * The seeded train/val split, stratified by label: used by run plans and by the curation
 * screen, which stores it on the images.
 */
import { StudioError } from '../contract';
import { Rng } from '../mae/rng';

/** Per label, a seeded shuffle then the first ⌈fraction·n⌉ to validation (labels with ≥ 2 images). */
export function stratifiedSplit<T extends { label: string | null }>(items: readonly T[], fraction: number, seed: number) {
  if (!(fraction >= 0 && fraction < 1)) throw new StudioError('INVALID_ARGUMENT', `pretrain.valFraction must be in [0, 1), got ${fraction}`);
  const rng = Rng.fromSeed(seed, 101);
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(item.label ?? '', [...(groups.get(item.label ?? '') ?? []), item]);
  const train: T[] = [];
  const val: T[] = [];
  for (const key of [...groups.keys()].sort()) {
    const group = rng.shuffle([...groups.get(key)!]);
    const held = group.length >= 2 && fraction > 0 ? Math.max(1, Math.round(group.length * fraction)) : 0;
    val.push(...group.slice(0, held));
    train.push(...group.slice(held));
  }
  return { train, val };
}
