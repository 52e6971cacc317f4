/** How runs read in the history and on the dashboard. */
import type { RunRecipe } from '$contract';

const KIND_NAMES = { pretrain: 'Pretrain', probe: 'Probe', finetune: 'Fine-tune' } as const;

/** `Pretrain #3`: the run's kind and its number among the project's runs of that kind (not its id). */
export function runName(run: { kind: keyof typeof KIND_NAMES; number: number }): string {
  return `${KIND_NAMES[run.kind]} #${run.number}`;
}

/**
 * `ViT 192d×12 · 224 px / 16 · dec 512×8`, after the recipe's name when it is not the paper's MAE (`FG-MAE · ViT …`).
 */
export function describeModel(recipe: RunRecipe): string {
  // A 3-D MAE: its crop and cuboid patch (slices×rows×columns) instead of an image size.
  if (recipe.volume3d)
    return (
      `3-D MAE · ViT ${recipe.embedDim}d×${recipe.depth} · ${recipe.volume3d.crop.join('×')} ` +
      `/ ${recipe.volume3d.patch.join('×')} · dec ${recipe.decoderEmbedDim}×${recipe.decoderDepth}`
    );
  const name = recipe.domainRecipe && recipe.domainRecipe.name !== 'mae' ? `${recipe.domainRecipe.label} · ` : '';
  return (
    `${name}ViT ${recipe.embedDim}d×${recipe.depth} · ${recipe.imgSize} px ` +
    `/ ${recipe.patchSize} · dec ${recipe.decoderEmbedDim}×${recipe.decoderDepth}`
  );
}

/** `vit-tiny` as people write it: ViT-Tiny. */
export function encoderName(value: string): string {
  return value.replace('vit-', 'ViT-').replace('tiny', 'Tiny').replace('small', 'Small').replace('base', 'Base');
}

/** A loss with four significant digits, or a dash. */
export function formatLoss(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '—' : value.toPrecision(4);
}

/** `1.5e-4`-style learning rates. */
export function formatLr(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : value === 0 ? '0' : value.toExponential(2);
}

/** `14 Nov, 09:12` in the user's locale. */
export function formatWhen(iso: string): string {
  return new Date(iso).toLocaleString(undefined, {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/**
 * What a run's loss compares, in words: `normalised pixels` (the paper's MAE), `normalised sharp
 * pixels` (deblurring MAE), `targets normalised per patch` (FG-MAE), `normalised patches of each
 * band group` (SatMAE), of each channel (CA-MAE), or without normalisation.
 */
export function lossTargetText(recipe: RunRecipe | null): string {
  const normalised = recipe?.normPixLoss !== false;
  const name = recipe?.domainRecipe?.name;
  if (name === 'fgmae') return normalised ? 'targets normalised per patch' : 'targets as they are';
  if (name === 'satmae') return `${normalised ? 'normalised ' : ''}patches of each band group`;
  if (name === 'camae') {
    const fourier = recipe?.domainRecipe?.details.includes('Fourier') ? ', plus the Fourier term' : '';
    return `${normalised ? 'normalised ' : ''}patches of each channel${fourier}`;
  }
  const pixels = name === 'deblur' ? 'sharp pixels' : 'pixels';
  // HPM's loss adds the loss predictor's relative objective (about ln 2 ≈ 0.69 before it learns)
  const ranking = name === 'hpm' ? ", plus the loss predictor's ranking term" : '';
  return `${normalised ? `normalised ${pixels}` : pixels}${ranking}`;
}
