/**
 * One project's training screen: its run history, which run (or the mask preview, or a
 * comparison) is open, and the open run's live series, fed by `trainingProgress` events.
 * Series are kept raw (not deep-proxied) and re-fetched downsampled when they grow large, so a
 * 100k-step run stays smooth.
 */
import { getContext, setContext } from 'svelte';
import type { MetricSeries, ReconstructionImage, RunSummary, StudioClient, TrainingProgress } from '$contract';

/** Points a chart holds before the series is re-fetched downsampled. */
const MAX_POINTS = 4000;

/** A metric's points, drawn as one line. */
export interface Series {
  steps: number[];
  values: number[];
}

/** The latest numbers of the open run, from its step events. */
export type StepProgress = Extract<TrainingProgress, { type: 'step' }>;

/** How far the open run's training images are prepared into the decoded cache (before its first step). */
export type PreparingProgress = Extract<TrainingProgress, { type: 'preparing' }>;

export type TrainingPane = 'run' | 'preview' | 'compare';

/** The training screen's state for one project. */
export class TrainingState {
  runs = $state<RunSummary[]>([]);
  loaded = $state(false);
  pane = $state<TrainingPane>('preview');
  selectedId = $state<number | null>(null);
  compareIds = $state<number[]>([]);
  /** The open run's series; replaced, never mutated in place, so charts see each change. */
  series = $state.raw<Record<'train_loss' | 'val_loss' | 'lr', Series>>(emptySeries());
  latest = $state<StepProgress | null>(null);
  /** Set while the open run prepares its data; cleared by its first step. */
  preparing = $state<PreparingProgress | null>(null);
  device = $state<string | null>(null);
  reconstruction = $state<ReconstructionImage | null>(null);
  readonly selected = $derived(this.runs.find((run) => run.id === this.selectedId) ?? null);
  readonly anyActive = $derived(this.runs.some((run) => run.active));
  /** Runs recorded as training whose process this studio does not host (the command line). */
  readonly trainingElsewhere = $derived(this.runs.some((run) => run.status === 'running' && !run.active));

  #refreshing: Promise<void> | null = null;
  #refetching = false;
  readonly #offs: (() => void)[] = [];

  constructor(
    private readonly client: StudioClient,
    readonly projectId: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.#offs.push(
      client.on('trainingProgress', (event) => this.#onProgress(event)),
      client.on('runChanged', (event) => {
        if (event.projectId !== projectId) return;
        if (event.status === 'deleted' && event.runId === this.selectedId) this.show('preview');
        void this.refresh();
      }),
    );
  }

  /** Reloads the history (calls overlapping an ongoing reload share it). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.client.runs
      .list(this.projectId)
      .then((runs) => {
        this.runs = runs;
        this.loaded = true;
        this.compareIds = this.compareIds.filter((id) => runs.some((run) => run.id === id));
      })
      .catch(this.onError)
      .finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  /** Opens a pane; `run` with the run's id. */
  show(pane: TrainingPane, runId: number | null = null): void {
    this.pane = pane;
    if (pane !== 'run' || runId === this.selectedId) return;
    this.selectedId = runId;
    this.series = emptySeries();
    this.latest = null;
    this.preparing = null;
    this.device = null;
    this.reconstruction = null;
    if (runId !== null) void this.#load(runId);
  }

  /** Reloads the open run's series and reconstruction (a run trained by another process). */
  reloadSelected(): void {
    if (this.selectedId !== null) void this.#load(this.selectedId);
  }

  /** Adds or removes a run from the comparison. */
  toggleCompare(runId: number): void {
    this.compareIds = this.compareIds.includes(runId)
      ? this.compareIds.filter((id) => id !== runId)
      : [...this.compareIds, runId];
  }

  dispose(): void {
    for (const off of this.#offs) off();
  }

  async #load(runId: number): Promise<void> {
    try {
      const [series, reconstruction] = await Promise.all([
        this.client.runs.metrics(runId, { names: ['train_loss', 'val_loss', 'lr'], maxPoints: MAX_POINTS }),
        this.client.runs.reconstruction(runId),
      ]);
      if (this.selectedId !== runId) return;
      this.series = toRecord(series);
      this.reconstruction = reconstruction;
    } catch (error) {
      this.onError(error);
    }
  }

  #onProgress(event: TrainingProgress): void {
    if (event.projectId !== this.projectId) return;
    if (event.type === 'started' || event.type === 'checkpoint') {
      const run = this.runs.find((candidate) => candidate.id === event.runId);
      if (event.type === 'started' && event.runId === this.selectedId)
        this.device = `${event.backend} · ${event.device}`;
      if (!run) void this.refresh();
      else if (event.type === 'checkpoint')
        this.runs = this.runs.map((r) => (r.id === event.runId ? { ...r, checkpointStep: event.step } : r));
      return;
    }
    if (event.type === 'step') {
      // Keep the history's line of a training run current without reloading it every step.
      this.runs = this.runs.map((run) =>
        run.id === event.runId ? { ...run, step: event.step, finalTrainLoss: event.loss } : run,
      );
    } else if (event.type === 'validation') {
      void this.refresh(); // once per epoch: val loss and training time in the history
    }
    if (event.runId !== this.selectedId) return;
    if (event.type === 'preparing') {
      this.preparing = event.done < event.total ? event : null;
    } else if (event.type === 'step') {
      this.preparing = null;
      this.latest = event;
      this.#append('train_loss', event.step, event.loss, { lr: event.lr });
    } else if (event.type === 'validation') {
      this.#append('val_loss', event.step, event.loss);
    } else if (event.type === 'reconstruction') {
      this.client.runs
        .reconstruction(event.runId)
        .then((image) => {
          if (image && image.runId === this.selectedId) this.reconstruction = image;
        })
        .catch(this.onError);
    }
  }

  #append(name: 'train_loss' | 'val_loss', step: number, value: number, extra: { lr?: number } = {}): void {
    const next = { ...this.series };
    const add = (key: 'train_loss' | 'val_loss' | 'lr', y: number) => {
      const current = next[key];
      // A resumed run repeats the steps after its checkpoint: drop what it replaces.
      let keep = current.steps.length;
      while (keep > 0 && current.steps[keep - 1]! >= step) keep -= 1;
      next[key] = { steps: [...current.steps.slice(0, keep), step], values: [...current.values.slice(0, keep), y] };
    };
    add(name, value);
    if (extra.lr !== undefined) add('lr', extra.lr);
    this.series = next;
    if (next.train_loss.steps.length > 2 * MAX_POINTS && !this.#refetching && this.selectedId !== null) {
      this.#refetching = true;
      void this.#load(this.selectedId).finally(() => (this.#refetching = false));
    }
  }
}

function emptySeries(): Record<'train_loss' | 'val_loss' | 'lr', Series> {
  return { train_loss: { steps: [], values: [] }, val_loss: { steps: [], values: [] }, lr: { steps: [], values: [] } };
}

function toRecord(series: MetricSeries[]): Record<'train_loss' | 'val_loss' | 'lr', Series> {
  const record = emptySeries();
  for (const item of series) {
    if (item.name === 'train_loss' || item.name === 'val_loss' || item.name === 'lr')
      record[item.name] = { steps: item.steps, values: item.values };
  }
  return record;
}

const KEY = Symbol('training');

/** Provides a project's training state to the training screen. */
export function setTraining(state: TrainingState): TrainingState {
  return setContext(KEY, state);
}

/** The training state of the open project. */
export function useTraining(): TrainingState {
  return getContext<TrainingState>(KEY);
}

let guardInstalled = false;

/**
 * In a browser, leaving the page while a run trains asks first (the run keeps training in the
 * server; the question is whether the user meant to leave it unwatched). Electron asks in main.
 */
export function installUnloadGuard(client: StudioClient, isElectron: boolean): void {
  if (guardInstalled || isElectron) return;
  guardInstalled = true;
  const active = new Set<number>();
  client.training.active().then(
    (runs) => runs.forEach((run) => active.add(run.id)),
    () => {},
  );
  client.on('runChanged', (event) => {
    if (event.active) active.add(event.runId);
    else active.delete(event.runId);
  });
  window.addEventListener('beforeunload', (event) => {
    if (active.size === 0) return;
    event.preventDefault();
    event.returnValue = ''; // older browsers need it set to show the prompt
  });
}
