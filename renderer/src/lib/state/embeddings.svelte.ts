/**
 * A project's embeddings as the Curate tab and the image panel use them: which run (and block)
 * they come from, whether they are stored and current, the progress of a computation — kept
 * current from `embeddingProgress` events — and the calls that read them.
 */
import { getContext, setContext } from 'svelte';
import type {
  EmbeddingExport,
  EmbeddingMap,
  EmbeddingRequest,
  EmbeddingStatus,
  ModelSource,
  SimilarImages,
  StudioClient,
  SuspectList,
} from '$contract';

/** Embeddings of one project; `dispose` unsubscribes. */
export class EmbeddingsState {
  /** Runs with weights (pretraining and fine-tuned), newest first. */
  sources = $state<ModelSource[]>([]);
  runId = $state<number | null>(null);
  /** Encoder block; null: the last (what the export gives). */
  block = $state<number | null>(null);
  status = $state<EmbeddingStatus | null>(null);
  busy = $state<'compute' | 'export' | null>(null);
  /** Bumped whenever a new set becomes ready, so readers fetch again. */
  version = $state(0);

  readonly source = $derived(this.sources.find((source) => source.runId === this.runId) ?? null);
  readonly ready = $derived(this.status?.state === 'ready');
  readonly #off: () => void;

  constructor(
    private readonly client: StudioClient,
    readonly projectId: number,
    private readonly onerror: (error: unknown, title?: string) => void,
  ) {
    this.#off = client.on('embeddingProgress', (event) => {
      if (
        event.projectId !== projectId ||
        event.runId !== this.status?.runId ||
        event.block !== this.status.block ||
        event.pooling !== this.status.pooling
      )
        return;
      if (event.phase !== 'finished') {
        this.status = { ...this.status, state: 'computing', progress: { done: event.done, total: event.total } };
        return;
      }
      if (event.error) this.onerror(new Error(event.error), 'Embeddings could not be computed');
      void this.refresh().then(() => {
        if (this.ready) this.version += 1;
      });
    });
  }

  /** What the calls ask for: the chosen run and block, mean pooling (as exported). */
  request(): EmbeddingRequest | null {
    if (this.runId === null) return null;
    return { runId: this.runId, pooling: 'mean', ...(this.block !== null && { block: this.block }) };
  }

  /** Reloads the runs and the status of the chosen one. */
  async refresh(): Promise<void> {
    try {
      this.sources = await this.client.evaluation.sources(this.projectId);
      if (this.runId === null || !this.sources.some((source) => source.runId === this.runId)) {
        this.runId = this.sources[0]?.runId ?? null;
        this.block = null;
      }
      const request = this.request();
      this.status = request ? await this.client.embeddings.status(request) : null;
    } catch (error) {
      this.onerror(error);
    }
  }

  /** Chooses the run (and block) and loads its status. */
  async choose(runId: number, block: number | null = null): Promise<void> {
    this.runId = runId;
    this.block = block;
    await this.refresh();
    if (this.ready) this.version += 1;
  }

  /** Starts computing unless the embeddings are current. */
  async compute(): Promise<void> {
    const request = this.request();
    if (!request) return;
    this.busy = 'compute';
    try {
      this.status = await this.client.embeddings.compute(request);
    } catch (error) {
      this.onerror(error, 'Embeddings did not start');
    } finally {
      this.busy = null;
    }
  }

  /** Exports into the project's exports folder; resolves with what was written (null on failure, reported). */
  async export(): Promise<EmbeddingExport | null> {
    const request = this.request();
    if (!request) return null;
    this.busy = 'export';
    try {
      return await this.client.embeddings.export(request);
    } catch (error) {
      this.onerror(error, 'Embeddings were not exported');
      return null;
    } finally {
      this.busy = null;
    }
  }

  /** An image's nearest neighbours (null when the embeddings are not ready). */
  async similar(imageId: number, k = 9): Promise<SimilarImages | null> {
    const request = this.request();
    if (!request || !this.ready) return null;
    return this.client.embeddings.similar(imageId, request, { k });
  }

  /** Likely label errors and outliers (null when the embeddings are not ready). */
  async suspects(limit = 30): Promise<SuspectList | null> {
    const request = this.request();
    if (!request || !this.ready) return null;
    return this.client.embeddings.suspects(request, { k: 10, limit });
  }

  /** The embedding map for a seed (null when the embeddings are not ready); the first call computes it. */
  async map(seed = 0): Promise<EmbeddingMap | null> {
    const request = this.request();
    if (!request || !this.ready) return null;
    return this.client.embeddings.map(request, { seed });
  }

  dispose(): void {
    this.#off();
  }
}

const KEY = Symbol('embeddings');

/** Provides a project's embeddings state to the project view's children. */
export function setEmbeddings(state: EmbeddingsState): EmbeddingsState {
  return setContext(KEY, state);
}

/** The embeddings state of the open project. */
export function useEmbeddings(): EmbeddingsState {
  return getContext<EmbeddingsState>(KEY);
}
