/**
 * The model card written beside every export (Markdown for people, JSON for tools): what data
 * the encoder saw (counts, labels, channels — never file names or patient data), how pixels
 * were normalised, the recipe, the loss curve in summary, probe and fine-tune scores, the
 * backend and when. Built from the workspace only, so the UI can preview it before exporting.
 * This file builds the card (the JSON); `model-card-markdown.ts` writes it for people.
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
import { recipePeakLr, storedTrainConfig } from '../train/config';
import { domainRecipeSummary } from '../train/recipes/domain-recipes';
import { typedRun, type PretrainRun, type TypedRun } from '../train/run-records';
import { VERSION } from '../version';
import { finetuneScore, type FinetuneScore } from './finetune-card';
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
