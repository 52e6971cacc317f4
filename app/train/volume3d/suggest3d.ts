/**
 * The crop, patch and resampling a 3-D run starts from, read from the volumes' voxel spacing:
 * on near-isotropic voxels 16³ cubes of a 64³ crop (the 3-D analogue of ViT-B/16 on 224²); on
 * thick slices (slice spacing ≥ 2.5× the in-plane spacing, as most clinical CT) 4×16×16 patches,
 * which span about as many millimetres across slices as within them without inventing voxels
 * between slices. Every side is shrunk to fit the smallest volume, and patches are halved until a
 * crop holds at least {@link MIN_TOKENS} of them.
 */
import type { Size3dTuple, Volume3dSuggestion } from '../../contract';

/** Slice spacing over in-plane spacing from which slices count as thick. */
export const THICK_SLICE_RATIO = 2.5;
/** Patches a suggested crop holds at least (fewer leave too little to mask and predict). */
const MIN_TOKENS = 8;

/** The largest multiple of `step` not above `limit` (0 when none). */
function fitMultiple(limit: number, step: number, wanted: number): number {
  return Math.floor(Math.min(limit, wanted) / step) * step;
}

/** The crop of `patch` cubes fitting `smallest` closest to `wanted` (0 on an axis that cannot hold one). */
function cropFor(patch: Size3dTuple, smallest: Size3dTuple, wanted: Size3dTuple): Size3dTuple {
  return patch.map((side, axis) => fitMultiple(smallest[axis]!, side, wanted[axis]!)) as Size3dTuple;
}

function tokens(crop: Size3dTuple, patch: Size3dTuple): number {
  return crop.reduce((product, side, axis) => product * Math.floor(side / patch[axis]!), 1);
}

/**
 * The suggestion for volumes with median `spacing` (slices, rows, columns, mm) whose smallest is
 * `smallest` voxels (slices, rows, columns).
 */
export function suggestVolume3d(spacing: Size3dTuple, smallest: Size3dTuple): Volume3dSuggestion {
  const inPlane = (spacing[1] + spacing[2]) / 2;
  const anisotropy = spacing[0] / inPlane;
  const thick = anisotropy >= THICK_SLICE_RATIO;
  let patch: Size3dTuple = thick ? [4, 16, 16] : [16, 16, 16];
  const wanted: Size3dTuple = thick ? [16, 64, 64] : [64, 64, 64];
  let crop = cropFor(patch, smallest, wanted);
  // Small volumes: halve the largest patch side until the crop holds enough patches.
  while (crop.some((side) => side === 0) || tokens(crop, patch) < MIN_TOKENS) {
    const axis = patch.indexOf(Math.max(...patch));
    if (patch[axis]! <= 2) break;
    patch = patch.map((side, index) => (index === axis ? side / 2 : side)) as Size3dTuple;
    crop = cropFor(patch, smallest, wanted);
  }
  const mm = patch.map((side, axis) => (side * spacing[axis]!).toFixed(1));
  const spacingText = `slices ${spacing[0].toFixed(2)} mm apart, ${inPlane.toFixed(2)} mm in plane`;
  const reason = thick
    ? `Thick slices (${spacingText}, ${anisotropy.toFixed(1)}×): ${patch.join('×')} patches span ` +
      `${mm.join(' × ')} mm, about as far across slices as within them, so the volumes are used as stored ` +
      'rather than resampled (resampling would invent the voxels between slices).'
    : `Near-isotropic voxels (${spacingText}, ${anisotropy.toFixed(1)}×): ${patch.join('×')} cubes ` +
      `(${mm.join(' × ')} mm), volumes used as stored.`;
  return { crop, patch, resample: 'none', anisotropy, reason };
}
