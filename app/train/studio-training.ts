/**
 * The `training` and `runs` services: recipes checked over a project's data, mask previews with
 * the engine's masking, runs started in training processes whose progress becomes events, and
 * the history. The processes are made by the host's launcher (fork here, utilityProcess in
 * Electron); a process that dies leaves its run `interrupted`, and the UI hears it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_VOLUME_SAMPLING,
  StudioError,
  type MaskPreview,
  type MetricSeries,
  type Recipe,
  type RecipeCheck,
  type RecipeDraft,
  type RecipeDefaults,
  type ReconstructionImage,
  type RunSummary,
  type StudioImpl,
} from '../contract';
import type { StudioEvents } from '../rpc';
import type { RunRecord } from '../store/runs';
import type { Workspace } from '../workspace';
import { DEFAULT_BLR, DEFAULT_PRETRAIN, DEFAULT_TRAIN_CONFIG, describeRecipeLr } from './config';
import { isVolume3dRun, typedRun } from './run-records';
import { buildPretrain3dPlan, estimateVolume3dMemory, recipeSummary3d, volumeRunDefaults } from './volume3d/plan3d';
import { LR_RULE_FORMULAS, LR_RULES } from './schedule';
import { estimateInWorker, type TrainingProcess } from './host';
import { flatPatchWarning } from './flat-patches';
import { estimateTrainingMemory } from './memory-estimate';
import { placeDatePictures, renderMaskPreview } from './mask-preview';
import { describeInit } from '../mae/weights/init';
import { buildPretrainPlan, projectSizedOptions, type PretrainPlan } from './pretrain-plan';
import { modelBandNames, planDataset } from './dataset-plan';
import { domainRecipeChoices } from './recipes/choices';
import { projectSeries } from './recipes/temporal-data';
import { DEFAULT_DOMAIN_RECIPE_OPTIONS } from './recipes/domain-recipes';
import { listReconstructionGrids, runFolder } from './run-files';
import { RECIPE_HELP, recipeSummary } from './recipe';
import { memoryError, parseDraft, plainEngineError } from './recipe-check';
import { RunProcesses, type TrainingHost } from './run-processes';
import { costKey, projectRunTime, type WarmupCosts } from './run-time';
import { downsampleMinMax } from './series';

export type { TrainingHost } from './run-processes';

/** Share of this machine's memory a run may plan to use. */
const MEMORY_SHARE = 0.7;
/** The project setting holding the recipe of the last run started from the dialog. */
const LAST_RECIPE = 'lastRecipe';

/** Runs and their training processes for one workspace. */
export class StudioTraining {
  /** Every training process of the studio, pretraining's and evaluation's. */
  readonly processes: RunProcesses;
  /** Warm-up costs by what makes a step cost what it does (`costKey`), so `check` can give a time. */
  readonly #measured = new Map<string, WarmupCosts>();
  /** The flat-patch look of a recipe's images (`flat-patches.ts`), by what it depends on: read once per draft. */
  readonly #flatChecks = new Map<string, Promise<string | null>>();

  constructor(
    private readonly workspace: Workspace,
    private readonly events: StudioEvents,
    private readonly host: TrainingHost = {},
  ) {
    this.processes = new RunProcesses(workspace, events, () => this.host);
  }

  /** The two services, bound to this workspace. */
  readonly services: Pick<StudioImpl, 'training' | 'runs'> = {
    training: {
      defaults: (projectId) => this.defaults(projectId),
      check: (projectId, draft) => this.check(projectId, draft),
      estimate: async (projectId, recipe) => {
        const plan = this.plan(projectId, recipe);
        const measured = await estimateInWorker(this.workspace.root, plan, this.host);
        this.#measured.set(costKey(projectId, plan), measured);
        return measured;
      },
      previewMask: (query) => this.previewMask(query),
      start: (projectId, recipe) => {
        const plan = this.plan(projectId, recipe);
        const measured = this.#measured.get(costKey(projectId, plan));
        if (measured) plan.estimate = projectRunTime(measured, plan); // the run's ETA starts from it
        const run = this.workspace.runs.create({ projectId, kind: 'pretrain', config: plan });
        // The dialog reopens with these values, in any window and after a restart.
        this.workspace.projects.setSetting(projectId, LAST_RECIPE, recipe);
        this.processes.launchRun(run.id);
        return this.summary(run.id);
      },
      pause: (runId) => this.control(runId).pause(),
      resume: (runId) => {
        const run = this.workspace.runs.get(runId);
        if (this.processes.isActive(runId)) throw new StudioError('CONFLICT', `run ${runId} is already running`);
        if (run.status === 'completed') throw new StudioError('CONFLICT', `run ${runId} is already completed`);
        if (!this.workspace.runs.latestCheckpoint(runId))
          throw new StudioError('CONFLICT', `run ${runId} has no checkpoint to resume from; start a new run`);
        this.processes.launchRun(runId, { resume: true });
        return this.summary(runId);
      },
      stop: (runId) => this.control(runId).stop(),
      active: () => this.processes.active('pretrain').map((id) => this.summary(id)),
      volumeDefaults: (projectId) => volumeRunDefaults(this.workspace, projectId),
      startVolume: (projectId, recipe) => {
        const plan = buildPretrain3dPlan(this.workspace, projectId, recipe);
        // The memory rule of 2-D runs: refused before a process starts, with the batch that fits.
        const memory = estimateVolume3dMemory(plan);
        if (memory.totalBytes > os.totalmem() * MEMORY_SHARE)
          throw new StudioError(
            'INVALID_ARGUMENT',
            memoryError(plan.recipe.batchSize, memory.totalBytes, { totalBytes: os.totalmem(), share: MEMORY_SHARE })
              .message,
          );
        const run = this.workspace.runs.create({ projectId, kind: 'pretrain', config: plan });
        this.processes.launchRun(run.id);
        return this.summary(run.id);
      },
    },
    runs: {
      list: (projectId) => {
        this.workspace.projects.require(projectId);
        // Probes and fine-tuning runs belong to the Evaluate tab (`evaluation.list`).
        return this.summaries(this.workspace.runs.list(projectId).filter((run) => run.kind === 'pretrain'));
      },
      get: (runId) => this.summary(runId),
      metrics: (runId, query) =>
        this.metrics(runId, query?.names ?? ['train_loss', 'val_loss', 'lr'], query?.maxPoints ?? 4000),
      reconstruction: (runId) => this.reconstruction(runId),
      remove: (runId) => this.remove(runId),
    },
  };

  /** Asks every running process to end with a checkpoint and waits for them, bounded. */
  close(): Promise<void> {
    return this.processes.close();
  }

  private defaults(projectId: number): RecipeDefaults {
    this.workspace.projects.require(projectId);
    const data = planDataset(this.workspace, projectId, {});
    const volumes = this.workspace.images.volumeCount(projectId);
    const model = DEFAULT_TRAIN_CONFIG.model;
    // The model the plan sizes to this project when the recipe leaves it unset (model-sizing.ts).
    const sized = projectSizedOptions({}, data);
    const domainRecipes = domainRecipeChoices({
      domain: this.workspace.projects.get(projectId).domain,
      channels: data.channels,
      bandNames: modelBandNames(this.workspace, projectId, data),
      modalities: this.workspace.images.modalities(projectId).map((row) => row.modality),
      series: projectSeries(this.workspace, projectId),
    });
    const suggested = domainRecipes.find((choice) => choice.suggested)!;
    return {
      recipe: {
        preset: DEFAULT_PRETRAIN.preset,
        imgSize: sized.options.imgSize!,
        patchSize: model.patchSize,
        decoder: sized.options.decoder!,
        depth: sized.options.depth!,
        maskRatio: DEFAULT_TRAIN_CONFIG.maskRatio,
        maskStrategy: DEFAULT_TRAIN_CONFIG.maskStrategy,
        normPixLoss: model.normPixLoss,
        // The recipe suggested for these images, with its options (the others' options as they start).
        domainRecipe: suggested.name,
        blurSigma: DEFAULT_DOMAIN_RECIPE_OPTIONS.blurSigma,
        hardPatchShare: DEFAULT_DOMAIN_RECIPE_OPTIONS.finalHardShare,
        featureTargets: domainRecipes.find((choice) => choice.name === 'fgmae')!.options!.featureTargets!,
        batchSize: DEFAULT_TRAIN_CONFIG.batchSize,
        accumSteps: DEFAULT_TRAIN_CONFIG.accumSteps,
        epochs: DEFAULT_PRETRAIN.epochs,
        lrRule: DEFAULT_TRAIN_CONFIG.lrRule,
        blr: DEFAULT_TRAIN_CONFIG.blr,
        seed: DEFAULT_TRAIN_CONFIG.seed,
        backend: DEFAULT_PRETRAIN.backend,
      },
      domainRecipes,
      last: lastRecipe(this.workspace.projects.settings(projectId)[LAST_RECIPE]),
      help: RECIPE_HELP,
      modelSizing: sized.reason!,
      lrRules: Object.fromEntries(
        LR_RULES.map((rule) => [rule, { blr: DEFAULT_BLR[rule], formula: LR_RULE_FORMULAS[rule] }]),
      ) as RecipeDefaults['lrRules'],
      dataset: {
        usable: data.trainImageIds.length + data.valImageIds.length,
        channels: data.channels,
        trainImages: data.trainImageIds.length,
        valImages: data.valImageIds.length,
        excluded: data.excluded,
        conversions: data.channelPlan?.conversions ?? {},
        excludedClasses: data.excludedClasses ?? [],
        ...(volumes > 0 && {
          volumes: {
            count: volumes,
            sampling: data.channelPlan?.volume ?? DEFAULT_VOLUME_SAMPLING,
            ...(data.samples && { samples: data.samples }),
          },
        }),
      },
      memoryBytes: os.totalmem(),
    };
  }

  private plan(projectId: number, recipe: Recipe): PretrainPlan {
    const plan = buildPretrainPlan(this.workspace, projectId, recipe);
    const memory = estimateTrainingMemory(plan.recipe);
    if (memory.totalBytes > os.totalmem() * MEMORY_SHARE) {
      throw new StudioError(
        'INVALID_ARGUMENT',
        memoryError(plan.recipe.batchSize, memory.totalBytes, { totalBytes: os.totalmem(), share: MEMORY_SHARE })
          .message,
      );
    }
    return plan;
  }

  private async check(projectId: number, draft: RecipeDraft): Promise<RecipeCheck> {
    const parsed = parseDraft(draft);
    const unchecked = {
      stepsPerEpoch: null,
      totalSteps: null,
      parameters: null,
      learningRate: null,
      memory: null,
      init: null,
      time: null,
    };
    if (parsed.errors.length > 0) return { ok: false, errors: parsed.errors, ...unchecked };
    let plan: PretrainPlan;
    try {
      plan = buildPretrainPlan(this.workspace, projectId, parsed.recipe);
    } catch (error) {
      if (!(error instanceof StudioError) || error.code !== 'INVALID_ARGUMENT') throw error;
      return { ok: false, errors: [plainEngineError(error.message)], ...unchecked };
    }
    const memory = estimateTrainingMemory(plan.recipe);
    const availableBytes = os.totalmem() * MEMORY_SHARE;
    const fits = memory.totalBytes <= availableBytes;
    const measured = this.#measured.get(costKey(projectId, plan));
    const flat = await this.flatPatches(plan);
    return {
      ok: fits,
      warnings: flat ? [flat] : [],
      errors: fits
        ? []
        : [memoryError(plan.recipe.batchSize, memory.totalBytes, { totalBytes: os.totalmem(), share: MEMORY_SHARE })],
      stepsPerEpoch: plan.stepsPerEpoch,
      totalSteps: plan.recipe.totalSteps,
      parameters: memory.parameters,
      learningRate: describeRecipeLr(plan.recipe),
      memory: { estimateBytes: memory.totalBytes, availableBytes, fits },
      init: plan.init ? describeInit(plan.init.report) : null,
      sizing: plan.sizing ?? null,
      time: measured ? projectRunTime(measured, plan) : null,
    };
  }

  /** The flat-patch warning of a plan, reused while the images, their reading and the patching are the same. */
  private flatPatches(plan: PretrainPlan): Promise<string | null> {
    const { model, domainRecipe } = plan.recipe;
    const key = JSON.stringify([
      model.imgSize,
      model.patchSize,
      model.normPixLoss,
      domainRecipe?.name,
      plan.data.trainImageIds,
      plan.data.mean,
      plan.data.std,
      plan.data.transform,
      plan.data.channelPlan,
    ]);
    const known = this.#flatChecks.get(key);
    if (known) return known;
    if (this.#flatChecks.size >= 32) this.#flatChecks.clear(); // drafts come and go; a re-read costs ~16 images
    // Advice, not a rule: an image that cannot be read is said here (the run would fail on it), read again next time.
    const pending = flatPatchWarning(this.workspace, plan).catch((error: unknown) => {
      this.#flatChecks.delete(key);
      return `The training images could not be read to look for flat patches: ${(error as Error).message}`;
    });
    this.#flatChecks.set(key, pending);
    return pending;
  }

  private async previewMask(query: Parameters<StudioImpl['training']['previewMask']>[0]): Promise<MaskPreview> {
    const file = this.workspace.thumbnailFile(query.imageId);
    if (!file)
      throw new StudioError(
        'NOT_FOUND',
        `image ${query.imageId} has no picture to preview (it failed to import or was removed)`,
      );
    const preview = await renderMaskPreview(file, query);
    if (query.dates === undefined) return preview;
    // SatMAE temporal: the same place at the other dates, when the image belongs to a series.
    const projectId = this.workspace.images.thumbnail(query.imageId)!.projectId;
    const pictures = await placeDatePictures(
      projectSeries(this.workspace, projectId),
      query.imageId,
      query.dates,
      query.imgSize ?? 224,
      (imageId) => this.workspace.thumbnailFile(imageId),
    );
    return pictures ? { ...preview, datePictures: pictures } : preview;
  }

  private control(runId: number): TrainingProcess {
    return this.processes.control(runId);
  }

  private summary(runId: number): RunSummary {
    return this.summaries([this.workspace.runs.get(runId)])[0]!;
  }

  private summaries(runs: RunRecord[]): RunSummary[] {
    const outcomes = this.workspace.runs.outcomes(runs.map((run) => run.id));
    return runs.map(typedRun).map((run) => ({
      id: run.id,
      projectId: run.projectId,
      kind: run.kind,
      status: run.status,
      backend: run.backend,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
      error: run.error,
      recipe: isVolume3dRun(run)
        ? recipeSummary3d(run.config)
        : run.kind === 'pretrain'
          ? recipeSummary(run.config)
          : null,
      ...outcomes.get(run.id)!,
      active: this.processes.isActive(run.id),
    }));
  }

  private metrics(runId: number, names: string[], maxPoints: number): MetricSeries[] {
    this.workspace.runs.require(runId);
    return names.map((name) => {
      const { steps, values } = this.workspace.runs.series(runId, name);
      return { name, ...downsampleMinMax(steps, values, maxPoints), total: steps.length };
    });
  }

  private reconstruction(runId: number): ReconstructionImage | null {
    const run = this.workspace.runs.get(runId);
    const dir = runFolder(this.workspace.projectDir(run.projectId), runId);
    const newest = listReconstructionGrids(dir).at(-1);
    if (!newest) return null;
    try {
      const bytes = fs.readFileSync(path.join(dir, newest.file));
      return { runId, step: newest.step, dataUrl: `data:image/png;base64,${bytes.toString('base64')}` };
    } catch {
      return null; // replaced by a newer grid between listing and reading
    }
  }

  private remove(runId: number): void {
    const run = this.workspace.runs.get(runId);
    if (this.processes.isActive(runId))
      throw new StudioError('CONFLICT', `run ${runId} is running: stop it before deleting it`);
    if (run.status === 'running')
      throw new StudioError(
        'CONFLICT',
        `run ${runId} is training in another process: stop it there before deleting it`,
      );
    const projectDir = this.workspace.projectDir(run.projectId);
    const checkpoints = this.workspace.runs.checkpoints(runId);
    this.workspace.runs.remove(runId);
    for (const checkpoint of checkpoints) {
      // Only files inside the project folder are ever deleted, whatever the database says.
      const file = path.resolve(checkpoint.path);
      if (file.startsWith(projectDir + path.sep)) fs.rmSync(file, { force: true });
    }
    fs.rmSync(runFolder(projectDir, runId), { recursive: true, force: true });
    this.events.emit('runChanged', { runId, projectId: run.projectId, status: 'deleted', error: null, active: false });
  }
}

/** The stored last recipe, keeping only fields that still pass (a newer build may change them). */
function lastRecipe(value: unknown): Recipe | null {
  if (value === null || typeof value !== 'object') return null;
  return parseDraft(value as RecipeDraft).recipe;
}
