/**
 * The Evaluate tab's state for one project: runs that have weights (sources), probe and
 * fine-tuning runs with their outcomes, and live progress of the ones running — kept current
 * from `evaluationProgress` events.
 */
import type {
  EvaluationProgress,
  EvaluationRecord,
  FinetuneRequest,
  ModelSource,
  ProbeRequest,
  StudioClient,
} from '$contract';

/** Evaluation state of one project; `dispose` unsubscribes. */
export class EvaluationState {
  sources = $state<ModelSource[]>([]);
  records = $state<EvaluationRecord[]>([]);
  /** Progress of running jobs by run id. */
  progress = $state<Record<number, EvaluationProgress>>({});
  loaded = $state(false);
  /** The pretraining run the forms act on. */
  selectedSource = $state<number | null>(null);
  /** The evaluation whose results are shown. */
  selectedRecord = $state<number | null>(null);

  readonly pretrainSources = $derived(this.sources.filter((source) => source.kind === 'pretrain'));
  readonly shown = $derived(this.records.find((record) => record.runId === this.selectedRecord) ?? null);
  readonly #off: () => void;

  constructor(
    private readonly client: StudioClient,
    readonly projectId: number,
    private readonly onerror: (error: unknown) => void,
  ) {
    this.#off = client.on('evaluationProgress', (event) => {
      this.progress = { ...this.progress, [event.runId]: event };
      // Started and finished change the run's status: reload so the list and the panel agree.
      if (event.phase === 'finished' || event.phase === 'started') void this.refresh();
    });
  }

  /** Reloads sources and records. */
  async refresh(): Promise<void> {
    try {
      const [sources, records] = await Promise.all([
        this.client.evaluation.sources(this.projectId),
        this.client.evaluation.list(this.projectId),
      ]);
      this.sources = sources;
      this.records = records;
      if (this.selectedSource === null || !sources.some((s) => s.runId === this.selectedSource)) {
        this.selectedSource = sources.find((s) => s.kind === 'pretrain')?.runId ?? null;
      }
      if (this.selectedRecord === null)
        this.selectedRecord = records.find((r) => r.status === 'completed')?.runId ?? null;
    } catch (error) {
      this.onerror(error);
    } finally {
      this.loaded = true;
    }
  }

  /** Starts a probe of the selected pretraining run. */
  async probe(request: ProbeRequest): Promise<void> {
    if (this.selectedSource === null) return;
    const { runId } = await this.client.evaluation.probe(this.selectedSource, request);
    this.selectedRecord = runId;
    await this.refresh();
  }

  /** Starts fine-tuning the selected pretraining run. */
  async finetune(request: FinetuneRequest): Promise<void> {
    if (this.selectedSource === null) return;
    const { runId } = await this.client.evaluation.finetune(this.selectedSource, request);
    this.selectedRecord = runId;
    await this.refresh();
  }

  dispose(): void {
    this.#off();
  }
}
