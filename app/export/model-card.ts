/**
 * The model card written beside every export (Markdown for people, JSON for tools): what data
 * the encoder saw (counts, labels, channels — never file names or patient data), how pixels
 * were normalised, the recipe, the loss curve in summary, probe and fine-tune scores, the
 * backend and when. Built from the workspace only, so the UI can preview it before exporting.
 */
import {
  EXPORT_FORMAT_NAMES,
  type AccuracyGain,
  type ChannelConversion,
  type ExportFormatName,
  type Interval,
  type VolumeSampling,
  DEFAULT_SLIDE_SAMPLING,
  type SlideSampling,
} from '../contract';
import type { MaeConfig } from '../mae/config';
import { paramSpecs } from '../mae/params';
import type { FinetunePlan } from '../train/finetune-plan';
import type { PretrainPlan } from '../train/pretrain-plan';
import { describeRecipeLr, recipePeakLr, storedTrainConfig } from '../train/config';
import { domainRecipeSummary } from '../train/recipes/domain-recipes';
import { accuracyText, gainText } from '../train/probe-format';
import { typedRun, type PretrainRun, type TypedRun } from '../train/run-records';
import { VERSION } from '../version';
import { finetuneMarkdown, finetuneScore, type FinetuneScore } from './finetune-card';
import type { Workspace } from '../workspace';

/** The export formats. */
export const EXPORT_FORMATS = EXPORT_FORMAT_NAMES;
export type ExportFormat = ExportFormatName;

/** One probe on the card; intervals, raw pixels, block and warnings are null for probes stored before they existed. */
export interface ProbeScore {
  runId: number;
  method: string;
  pooling: string;
  k: number | null;
  labelsPerClass: number | null;
  trainImages: number;
  valImages: number;
  /** Encoder block probed (null: the last, for older probes) and the encoder's depth. */
  block: number | null;
  blockChosenBy: string | null;
  accuracy: number;
  /** Wilson 95 % interval of `accuracy` over `valImages`. */
  interval: Interval | null;
  randomInitAccuracy: number;
  randomInitInterval: Interval | null;
  rawPixelsAccuracy: number | null;
  rawPixelsInterval: Interval | null;
  /** Pretrained minus each baseline, paired bootstrap 95 % interval. */
  gain: { randomInit: AccuracyGain; rawPixels: AccuracyGain } | null;
  warnings: string[];
}

/** A model card's content. */
export interface ModelCard {
  title: string;
  format: ExportFormat | null;
  createdAt: string;
  studioVersion: string;
  run: { id: number; kind: string; status: string; backend: string | null; finishedAt: string | null; step: number };
  model: {
    architecture: string;
    config: MaeConfig;
    encoderParameters: number;
    pooling: string;
    classes: string[] | null;
  };
  dataset: {
    project: string;
    domain: string;
    channels: number;
    trainImages: number;
    valImages: number;
    /** Images per label in the train and val splits: the folder's name, or the label set by hand in the studio. */
    labels: { label: string; train: number; val: number }[];
    /** Images of the splits whose label was set by hand (absent in cards of older builds). */
    relabelled?: number;
    bitDepths: number[];
    formats: string[];
    /** How images of each channel count became the input bands (the channel plan); {} before conversions. */
    conversions: Record<string, ChannelConversion>;
    /** Classes the channel plan left out: the encoder never saw them. */
    excludedClasses: string[];
    /** How volumes became samples (the channel plan's `volume`); absent: stored slices. */
    volume?: VolumeSampling;
    /** How whole-slide images became samples (the channel plan's `slide`), when the run trained on slides. */
    slide?: SlideSampling;
  };
  normalisation: { mean: number[]; std: number[]; scaling: string };
  recipe: { pretraining: Omit<PretrainPlan['recipe'], 'model'> & { peakLr: number }; finetuning: FinetunePlan | null };
  /** The domain recipe the encoder was pretrained with, its options in words and its paper. */
  domainRecipe: ReturnType<typeof domainRecipeSummary>;
  losses: {
    steps: number;
    firstTrainLoss: number | null;
    lastTrainLoss: number | null;
    bestValLoss: number | null;
    lastValLoss: number | null;
  };
  scores: {
    probes: ProbeScore[];
    finetunes: FinetuneScore[];
  };
  files: { name: string; bytes: number; sha256: string }[];
  usage: string;
}

function labelCounts(workspace: Workspace, ids: number[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const source of workspace.images.sources(ids)) {
    const label = source?.label ?? '(no label)';
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts;
}

/** Gathers the card of `run` (pretraining or fine-tuning) from the workspace. */
export function buildModelCard(
  workspace: Workspace,
  run: TypedRun,
  pretrainRun: PretrainRun,
  step: number,
  format: ExportFormat | null,
  pooling: string,
  classes: string[] | null,
): ModelCard {
  const plan = pretrainRun.config;
  const project = workspace.projects.get(pretrainRun.projectId);
  const train = labelCounts(workspace, plan.data.trainImageIds);
  const val = labelCounts(workspace, plan.data.valImageIds);
  const ids = [...plan.data.trainImageIds, ...plan.data.valImageIds];
  const kinds = workspace.images.kinds(ids);
  const losses = workspace.runs.metrics(pretrainRun.id, 'train_loss');
  const valLosses = workspace.runs.metrics(pretrainRun.id, 'val_loss');
  const children = workspace.runs
    .list(pretrainRun.projectId)
    .map(typedRun)
    .filter((child) => child.parentRunId === pretrainRun.id && child.status === 'completed' && child.result !== null);
  const { model, ...recipe } = storedTrainConfig(plan.recipe);
  const pretraining = { ...recipe, peakLr: recipePeakLr(recipe) };
  const architecture =
    `ViT ${model.embedDim}d × ${model.depth} blocks, ${model.numHeads} heads, ` +
    `patch ${model.patchSize}, ${model.imgSize} px, ${model.inChans} channel${model.inChans === 1 ? '' : 's'}`;
  return {
    title: `${project.name}: MAE ${run.kind === 'finetune' ? 'classifier' : 'encoder'} (run ${run.id})`,
    format,
    createdAt: new Date().toISOString(),
    studioVersion: VERSION,
    run: { id: run.id, kind: run.kind, status: run.status, backend: run.backend, finishedAt: run.finishedAt, step },
    model: { architecture, config: model, encoderParameters: encoderParameterCount(model), pooling, classes },
    dataset: {
      project: project.name,
      domain: project.domain,
      channels: plan.data.channels,
      trainImages: plan.data.trainImageIds.length,
      valImages: plan.data.valImageIds.length,
      labels: [...new Set([...train.keys(), ...val.keys()])]
        .sort()
        .map((label) => ({ label, train: train.get(label) ?? 0, val: val.get(label) ?? 0 })),
      relabelled: workspace.labels.overriddenAmong(ids),
      bitDepths: [...new Set(kinds.map((k) => k.bitDepth))].sort((a, b) => a - b),
      formats: [...new Set(kinds.map((k) => k.format))].sort(),
      conversions: plan.data.channelPlan?.conversions ?? {},
      excludedClasses: plan.data.excludedClasses ?? [],
      ...(plan.data.channelPlan?.volume && { volume: plan.data.channelPlan.volume }),
      ...(kinds.some((kind) => kind.format === 'slide') && {
        slide: plan.data.channelPlan?.slide ?? DEFAULT_SLIDE_SAMPLING,
      }),
    },
    normalisation: { mean: plan.data.mean, std: plan.data.std, scaling: plan.data.scaling },
    recipe: { pretraining, finetuning: run.kind === 'finetune' ? run.config : null },
    domainRecipe: domainRecipeSummary(recipe.domainRecipe),
    losses: {
      steps: losses.at(-1)?.step ?? 0,
      firstTrainLoss: losses[0]?.value ?? null,
      lastTrainLoss: losses.at(-1)?.value ?? null,
      bestValLoss: valLosses.length ? Math.min(...valLosses.map((p) => p.value)) : null,
      lastValLoss: valLosses.at(-1)?.value ?? null,
    },
    scores: {
      probes: children
        .flatMap((c) => (c.kind === 'probe' && c.result ? [{ id: c.id, report: c.result }] : []))
        .map(({ id, report }) => {
          return {
            runId: id,
            method: report.method,
            pooling: report.pooling,
            k: report.k,
            labelsPerClass: report.labelsPerClass ?? null,
            trainImages: report.trainImages,
            valImages: report.valImages,
            block: report.block?.chosen ?? null,
            blockChosenBy: report.block?.selectedBy ?? null,
            accuracy: report.pretrained.accuracy,
            interval: report.pretrained.interval ?? null,
            randomInitAccuracy: report.randomInit.accuracy,
            randomInitInterval: report.randomInit.interval ?? null,
            rawPixelsAccuracy: report.rawPixels?.accuracy ?? null,
            rawPixelsInterval: report.rawPixels?.interval ?? null,
            gain: report.gain ?? null,
            warnings: report.warnings ?? [],
          };
        }),
      finetunes: children
        .flatMap((c) => (c.kind === 'finetune' && c.result ? [{ id: c.id, report: c.result }] : []))
        .map(({ id, report }) => finetuneScore(id, report)),
    },
    files: [],
    usage: '',
  };
}

/** Scalars of the exported encoder: its parameters (no decoder, no mask token) and pos_embed. */
function encoderParameterCount(config: MaeConfig): number {
  const encoder = paramSpecs(config).filter((spec) => !spec.name.startsWith('decoder_') && spec.name !== 'mask_token');
  const positions = (1 + (config.imgSize / config.patchSize) ** 2) * config.embedDim;
  return encoder.reduce((total, spec) => total + spec.shape.reduce((a, b) => a * b, 1), positions);
}

/** How the encoder's input was cut from whole-slide images, as a user feeding it must reproduce it. */
function slideLine(slide: SlideSampling): string {
  const scale =
    slide.micronsPerPixel === null
      ? "at each slide's full resolution (level 0)"
      : `at ${slide.micronsPerPixel} µm per pixel (slides that do not state their scale: at level 0)`;
  const share = Math.round(slide.minTissue * 100);
  const tissue =
    slide.minTissue > 0
      ? `, drawn where the tissue mask (Otsu on saturation of the smallest level) covers at least ${share}% of it`
      : ', drawn anywhere on the slide';
  return (
    `Whole-slide images were read as random windows of the input size ${scale}${tissue}; ` +
    'feed the encoder windows at the same scale.'
  );
}

/** How the encoder's input was cut from volumes, as a user feeding it must reproduce it. */
function volumeLine(volume: VolumeSampling): string {
  const planes = volume.axis === 'all' ? 'axial, coronal and sagittal' : volume.axis;
  const slices = 2 * volume.neighbours + 1;
  const stacked =
    `; each sample is ${slices} neighbouring slices stacked as channels ` +
    `(slice − ${volume.neighbours} … slice + ${volume.neighbours}, repeated at the volume's ends), ` +
    'so feed the encoder the same.';
  const cut = `Volumes were cut into ${planes} planes, resampled to square pixels along the coarser in-plane axis`;
  return cut + (slices > 1 ? stacked : '.');
}

/**
 * The channel plan's conversions and left-out classes as Markdown lines (none when nothing was converted or left out).
 */
function conversionLines(conversions: Record<string, ChannelConversion>, excludedClasses: string[]): string[] {
  const target = Number(Object.entries(conversions).find(([, conversion]) => conversion === 'keep')?.[0] ?? 0);
  const words: Record<ChannelConversion, string> = {
    keep: 'as they are',
    repeat: 'grey band repeated',
    luminance: 'to grey by Rec. 601 luminance',
    'drop-alpha': 'alpha dropped',
    exclude: 'left out',
  };
  const converted = Object.entries(conversions).filter(([, conversion]) => conversion !== 'keep');
  const conversionList = converted
    .map(([source, conversion]) => `${source}-channel images ${words[conversion]}`)
    .join('; ');
  return [
    ...(converted.length
      ? ['', `Channel plan: ${target ? `${target}-channel images as they are; ` : ''}${conversionList}.`]
      : []),
    ...(excludedClasses.length
      ? ['', `Classes left out by the channel plan (never seen by the encoder): ${excludedClasses.join(', ')}.`]
      : []),
  ];
}

const fixed = (value: number | null, digits = 4) => (value === null ? '—' : value.toFixed(digits));

/** A probe's Markdown lines: the scores with their intervals, then its gains and warnings. */
export function probeMarkdown(p: ProbeScore): string[] {
  const scored = (accuracy: number, interval: Interval | null) =>
    accuracyText({ accuracy, ...(interval && { interval, images: p.valImages }), perClass: [], confusion: [] });
  const block =
    p.block === null ? '' : ` of block ${p.block}${p.blockChosenBy ? ` (chosen by ${p.blockChosenBy})` : ''}`;
  const baselines = [
    `random init ${scored(p.randomInitAccuracy, p.randomInitInterval)}`,
    ...(p.rawPixelsAccuracy === null ? [] : [`raw pixels ${scored(p.rawPixelsAccuracy, p.rawPixelsInterval)}`]),
  ];
  return [
    `- ${p.method === 'knn' ? `kNN (k = ${p.k})` : 'linear probe'} on ${p.pooling} features${block}, fitted on ` +
      `${p.trainImages} labelled images${p.labelsPerClass === null ? '' : ` (≤ ${p.labelsPerClass} per class)`}, ` +
      `${p.valImages} validation images — run ${p.runId}: ` +
      `**${scored(p.accuracy, p.interval)}**; ${baselines.join('; ')}`,
    ...(p.gain
      ? [
          `  - gain over random init ${gainText(p.gain.randomInit)}; over raw ` +
            `pixels ${gainText(p.gain.rawPixels)} (paired bootstrap on the same images)`,
        ]
      : []),
    ...p.warnings.map((warning) => `  - ⚠ ${warning}`),
  ];
}

/** What the pretraining loss compared: pixels for the paper's MAE, the recipe's targets otherwise. */
function lossTarget(card: ModelCard): string {
  const normalised = card.model.config.normPixLoss !== false;
  if (card.domainRecipe.name === 'fgmae')
    return normalised ? 'its targets normalised per patch' : 'its targets as they are';
  const pixels =
    card.domainRecipe.name === 'deblur'
      ? 'sharp pixels'
      : card.domainRecipe.name === 'camae'
        ? 'pixels of each self-standardised channel'
        : 'pixels';
  const ranking = card.domainRecipe.name === 'hpm' ? " plus the loss predictor's relative (ranking) objective" : '';
  return `${normalised ? `per-patch normalised ${pixels}` : pixels}${ranking}`;
}

/** The card as Markdown. */
export function modelCardMarkdown(card: ModelCard): string {
  const { dataset, losses, scores, recipe } = card;
  const lines = [
    `# ${card.title}`,
    '',
    `Exported by MAE Studio ${card.studioVersion} on ${card.createdAt}${card.format ? ` as **${card.format}**` : ''}.`,
    (card.domainRecipe.name === 'mae'
      ? 'A Masked Autoencoder (He et al. 2021) encoder pretrained on the data below'
      : `An encoder pretrained on the data below with ${card.domainRecipe.label} ` +
        `(${card.domainRecipe.citation.split(',')[0]}), a Masked Autoencoder (He et al. 2021) recipe`) +
      (card.run.kind === 'finetune' ? ', then fine-tuned as a classifier.' : '.'),
    '',
    '## Model',
    `- ${card.model.architecture}; ${card.model.encoderParameters.toLocaleString('en-US')} encoder parameters`,
    `- features: ${card.model.pooling === 'cls' ? 'the cls token' : 'mean of the patch tokens'} ` +
      `after the final LayerNorm`,
    ...(card.model.classes ? [`- classes: ${card.model.classes.join(', ')}`] : []),
    `- run ${card.run.id} (${card.run.kind}, ${card.run.status}, step ${card.run.step}) ` +
      `on ${card.run.backend ?? 'unknown backend'}`,
    '',
    '## Data',
    `Project "${dataset.project}" (${dataset.domain}): ${dataset.trainImages} ` +
      `training and ${dataset.valImages} validation images, ` +
      `${dataset.channels} channel${dataset.channels === 1 ? '' : 's'}, ${dataset.bitDepths.join('/')}-bit, ` +
      `${dataset.formats.join(', ')}. No file names or patient data are included.`,
    '',
    '| label | train | val |',
    '| --- | ---: | ---: |',
    ...dataset.labels.map((row) => `| ${row.label} | ${row.train} | ${row.val} |`),
    ...(dataset.relabelled
      ? [
          '',
          `${dataset.relabelled} of these images carry a label set by hand ` +
            `in the studio instead of their folder's; the counts above use it.`,
        ]
      : []),
    ...conversionLines(dataset.conversions, dataset.excludedClasses),
    ...(dataset.volume ? ['', volumeLine(dataset.volume)] : []),
    ...(dataset.slide ? ['', slideLine(dataset.slide)] : []),
    '',
    '## Input normalisation',
    `Pixels: ${card.normalisation.scaling}.`,
    `- mean: [${card.normalisation.mean.map((v) => v.toFixed(6)).join(', ')}]`,
    `- std: [${card.normalisation.std.map((v) => v.toFixed(6)).join(', ')}]`,
    '',
    '## Recipe',
    `${card.domainRecipe.label}: ${card.domainRecipe.details}. After ${card.domainRecipe.citation}.`,
    `Pretraining: mask ratio ${recipe.pretraining.maskRatio} (${recipe.pretraining.maskStrategy}), loss on ` +
      `${lossTarget(card)}, ${recipe.pretraining.totalSteps} steps of ` +
      `batch ${recipe.pretraining.batchSize}×${recipe.pretraining.accumSteps}, ` +
      `${describeRecipeLr(recipe.pretraining)}, warmup ${recipe.pretraining.warmupSteps}, ` +
      `weight decay ${recipe.pretraining.weightDecay}, seed ${recipe.pretraining.seed}.`,
    ...(recipe.finetuning
      ? [
          `Fine-tuning: ${recipe.finetuning.steps} steps of batch ${recipe.finetuning.batchSize}, ` +
            `base lr ${recipe.finetuning.blr}, layer decay ${recipe.finetuning.layerDecay}, ` +
            `drop path ${recipe.finetuning.dropPath}, label ` +
            `smoothing ${recipe.finetuning.labelSmoothing}, warmup ${recipe.finetuning.warmupSteps}` +
            `${recipe.finetuning.linearProbeInit ? ', head started from the linear probe (LP-FT)' : ''}.`,
        ]
      : []),
    '',
    '## Pretraining loss',
    `${losses.steps} steps: train loss ${fixed(losses.firstTrainLoss)} → ${fixed(losses.lastTrainLoss)}; ` +
      `validation loss best ${fixed(losses.bestValLoss)}, last ${fixed(losses.lastValLoss)}.`,
    '',
    '## Scores (validation split)',
    ...(scores.probes.length === 0 && scores.finetunes.length === 0 ? ['No probe or fine-tuning run yet.'] : []),
    ...scores.probes.flatMap(probeMarkdown),
    ...scores.finetunes.flatMap(finetuneMarkdown),
    '',
  ];
  if (card.files.length)
    lines.push(
      '## Files',
      ...card.files.map(
        (f) => `- \`${f.name}\` (${f.bytes.toLocaleString('en-US')} bytes, sha256 ${f.sha256.slice(0, 16)}…)`,
      ),
      '',
    );
  if (card.usage) lines.push('## Use', '', '```', card.usage, '```', '');
  return lines.join('\n');
}
