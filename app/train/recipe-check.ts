/**
 * Field errors in plain words, from the rules that already exist — none is written here again.
 * A draft from the new-run form is parsed by the contract's `RecipeSchema` (the same schema that
 * guards `training.start`, whose messages already use the field's label); what passes is planned
 * by the engine (`buildPretrainPlan` → `validateTrainConfig` / `validateMaeConfig`), whose
 * messages name internal fields (`mae.imgSize (100) must be divisible by mae.patchSize (16)`).
 * `plainEngineError` rewords those for the field they belong to. The tests drive the engine with
 * bad recipes, so a reworded engine message that no longer matches fails them.
 */
import { RECIPE_LABELS, RecipeSchema, type Recipe, type RecipeDraft, type RecipeField } from '../contract';
import { recipeErrorField } from './recipe';

/** One problem, for the field it belongs to. */
export interface FieldError {
  field: RecipeField;
  message: string;
}

/** The draft's fields that pass the schema, and an error for each that does not. */
export function parseDraft(draft: RecipeDraft): { recipe: Recipe; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const recipe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(draft)) {
    if (value === undefined) continue;
    const shape = RecipeSchema.shape as Record<string, (typeof RecipeSchema.shape)[keyof typeof RecipeSchema.shape]>;
    const schema = shape[key];
    if (!schema) {
      errors.push({ field: 'recipe', message: `${key} is not a recipe field` });
      continue;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) recipe[key] = parsed.data;
    else errors.push({ field: key as keyof Recipe, message: parsed.error.issues[0]!.message });
  }
  return { recipe: recipe as Recipe, errors };
}

/** How the engine's internal names read on screen. */
const NAMES: Record<string, string> = {
  ...Object.fromEntries(Object.entries(RECIPE_LABELS).map(([key, label]) => [key, label.toLowerCase()])),
  totalSteps: 'steps',
  embedDim: "the encoder's width",
  numHeads: "the encoder's attention heads",
  decoderEmbedDim: 'decoder width',
  decoderDepth: 'decoder blocks',
  decoderNumHeads: "the decoder's attention heads",
  inChans: 'image channels',
  mlpRatio: 'MLP ratio',
  minLr: 'minimum learning rate',
  weightDecay: 'weight decay',
  valFraction: 'validation share',
};

/** Multiples of `step` on either side of `value`, as suggestions (`96 or 112`). */
function nearestMultiples(value: number, step: number): string {
  const below = Math.floor(value / step) * step;
  const above = Math.ceil(value / step) * step;
  return below > 0 && below !== above ? `${below} or ${above}` : String(above);
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** Engine messages with their own wording; anything else has its internal names replaced. */
const REWORDINGS: { pattern: RegExp; field: RecipeField; message: (match: RegExpExecArray) => string }[] = [
  {
    pattern: /^mae\.imgSize \((\d+)\) must be divisible by mae\.patchSize \((\d+)\)/,
    field: 'imgSize',
    message: ([, size, patch]) =>
      `Image size (${size}) must be divisible by the patch size ` +
      `(${patch}): try ${nearestMultiples(Number(size), Number(patch))}`,
  },
  {
    pattern: /^mae\.decoderEmbedDim \((\d+)\) must be divisible by mae\.decoderNumHeads \((\d+)\)/,
    field: 'decoder',
    message: ([, width, heads]) =>
      `Decoder width (${width}) must be divisible by its ${heads} attention ` +
      `heads (one per 32 channels): try ${nearestMultiples(Number(width), 32)}`,
  },
  {
    pattern: /^mae\.embedDim \((\d+)\) must be divisible by mae\.numHeads \((\d+)\)/,
    field: 'preset',
    message: ([, width, heads]) => `The encoder's width (${width}) must be divisible by its ${heads} attention heads`,
  },
  {
    pattern: /^2-D sin-cos position embeddings need widths divisible by 4, got (\d+) and (\d+)/,
    field: 'decoder',
    message: ([, , width]) =>
      `Decoder width (${width}) must be a multiple of 4 ` +
      `(position embeddings split it in four): try ${nearestMultiples(Number(width), 32)}`,
  },
  {
    pattern: /^pretrain\.decoder must look like/,
    field: 'decoder',
    message: () => 'Decoder must be width × blocks, like 512x8 or 128x2',
  },
  {
    pattern: /^mae\.decoder(?:EmbedDim|Depth) must be a positive integer/,
    field: 'decoder',
    message: () => 'Decoder width and blocks must each be at least 1, like 512x8',
  },
  {
    pattern: /^train\.maskRatio must be in \(0, 1\), got (.+)$/,
    field: 'maskRatio',
    message: ([, value]) =>
      `Mask ratio must be between 0 and 1, not including either (the paper uses 0.75); got ${value}`,
  },
  {
    pattern: /^pretrain: give --steps or --epochs, not both/,
    field: 'recipe',
    message: () => 'Give steps or epochs, not both',
  },
  {
    pattern: /^project .+ has no usable images/,
    field: 'recipe',
    message: () => 'This project has no usable images yet: import a folder first',
  },
  { pattern: /^pretrain\.init: (.*)$/s, field: 'init', message: ([, rest]) => `Weights file: ${rest}` },
  { pattern: /^pretrain\.featureTargets: (.*)$/s, field: 'featureTargets', message: ([, rest]) => capitalise(rest!) },
];

/** An engine error, for the field it belongs to, in the words of the form. */
export function plainEngineError(message: string): FieldError {
  for (const rewording of REWORDINGS) {
    const match = rewording.pattern.exec(message);
    if (match) return { field: rewording.field, message: rewording.message(match) };
  }
  const field = recipeErrorField(message);
  const text = message
    .replace(/\b(?:mae|train|pretrain)\.(\w+)/g, (_, name: string) => NAMES[name] ?? name)
    .replace('must be a positive integer', 'must be a whole number of at least 1')
    .replace('must be a non-negative integer', 'must be a whole number of at least 0')
    .replace('must be a finite number ≥ 0', 'must be 0 or more');
  return { field, message: capitalise(text) };
}

/** Memory as the dialog's summary writes it (decimal units): `14 GB`, `0.75 GB`, `15.6 TB`. */
export function gigabytes(bytes: number): string {
  const gb = bytes / 1e9;
  return gb >= 1000 ? `${Number((gb / 1000).toFixed(1))} TB` : `${Number(gb.toFixed(gb < 1 ? 2 : 1))} GB`;
}

/** The reason a recipe does not fit this machine, for the batch size field and the Start button. */
export function memoryError(
  batchSize: number,
  needBytes: number,
  memory: { totalBytes: number; share: number },
): FieldError {
  const spare = memory.totalBytes * memory.share;
  return {
    field: 'batchSize',
    message:
      `Batch size ${batchSize} needs about ${gigabytes(needBytes)} ` +
      `per step; this machine can spare ${gigabytes(spare)} ` +
      `(${Math.round(memory.share * 100)}% of its ${gigabytes(memory.totalBytes)}): ` +
      `lower the batch size (accumulation keeps the effective batch) or the image size`,
  };
}
