/** How runs read in the history and on the dashboard. */
import type { RunRecipe } from '$contract';

const KIND_NAMES = { pretrain: 'Pretrain', probe: 'Probe', finetune: 'Fine-tune' } as const;

/** `Pretrain #3`: the run's kind and its number among the project's runs of that kind (not its id). */
export function runName(run: { kind: keyof typeof KIND_NAMES; number: number }): string {
  return `${KIND_NAMES[run.kind]} #${run.number}`;
}

/** `ViT 192d×12 · 224 px / 16 · dec 512×8`. */
export function describeModel(recipe: RunRecipe): string {
  return `ViT ${recipe.embedDim}d×${recipe.depth} · ${recipe.imgSize} px ` + `/ ${recipe.patchSize} · dec ${recipe.decoderEmbedDim}×${recipe.decoderDepth}`;
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
  return new Date(iso).toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}
