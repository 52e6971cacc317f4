/**
 * The seeded train/val split, stratified by label: used by run plans and by the curation
 * screen, which stores it on the images.
 *
 * Items sharing a `group` (the slices of one volume file, of one patient's DICOM series: see
 * `ImageMeta.volume.group`) are drawn together, so no subject lands on both sides. Items without
 * a group are units of their own, and a set without any group splits exactly as before groups.
 */
import type { ImageMeta } from '../contract';
import { StudioError } from '../contract';
import { Rng } from '../mae/rng';

/** What the split needs of an item: its label and, for slices of a volume, its group. */
export interface SplitItem {
  label: string | null;
  group?: string | null;
}

/** The split group of an image from its metadata: the volume's subject, or null (the image alone). */
export function splitGroupOf(meta: ImageMeta | null | undefined): string | null {
  return meta?.volume?.group ?? meta?.volume?.key ?? null;
}

/**
 * Per label, a seeded shuffle of its units (a group, or one ungrouped item), then the first
 * ⌈fraction·units⌉ to validation (labels with ≥ 2 units). A group whose items carry different
 * labels is filed under the label of its first item.
 */
export function stratifiedSplit<T extends SplitItem>(items: readonly T[], fraction: number, seed: number) {
  if (!(fraction >= 0 && fraction < 1))
    throw new StudioError('INVALID_ARGUMENT', `pretrain.valFraction must be in [0, 1), got ${fraction}`);
  const rng = Rng.fromSeed(seed, 101);
  // Units in the order of their first item, so that without groups the shuffle sees the items.
  const units: T[][] = [];
  const unitOfGroup = new Map<string, T[]>();
  for (const item of items) {
    const known = item.group == null ? undefined : unitOfGroup.get(item.group);
    if (known) {
      known.push(item);
      continue;
    }
    const unit = [item];
    units.push(unit);
    if (item.group != null) unitOfGroup.set(item.group, unit);
  }
  const byLabel = new Map<string, T[][]>();
  for (const unit of units) {
    const label = unit[0]!.label ?? '';
    const list = byLabel.get(label);
    if (list) list.push(unit);
    else byLabel.set(label, [unit]);
  }
  const train: T[] = [];
  const val: T[] = [];
  for (const key of [...byLabel.keys()].sort()) {
    const group = rng.shuffle([...byLabel.get(key)!]);
    const held = group.length >= 2 && fraction > 0 ? Math.max(1, Math.round(group.length * fraction)) : 0;
    val.push(...group.slice(0, held).flat());
    train.push(...group.slice(held).flat());
  }
  return { train, val };
}
