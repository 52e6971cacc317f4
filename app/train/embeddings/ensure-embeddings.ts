/**
 * Current embeddings on demand, for features that read them (a probe's re-fit): ready ones at
 * once; otherwise the embeddings service computes them (its job, its `embeddingProgress` events,
 * which every client sees) and this resolves when they are stored.
 */
import { StudioError, type EmbeddingStatus, type StudioImpl } from '../../contract';
import type { StudioEvents } from '../../rpc';

/**
 * Resolves with the status once the request's embeddings are current, starting their computation
 * when they are missing or out of date (or joining the one under way); rejects with the job's error.
 */
export async function ensureEmbeddings(
  service: StudioImpl['embeddings'],
  events: StudioEvents,
  request: Parameters<StudioImpl['embeddings']['compute']>[0],
): Promise<EmbeddingStatus> {
  let off = () => {};
  // Listening before asking, so a job that finishes at once is not missed.
  const finished = new Promise<string | null>((resolve) => {
    off = events.on('embeddingProgress', (event) => {
      if (event.phase !== 'finished' || event.runId !== request.runId) return;
      if (request.block !== undefined && event.block !== request.block) return;
      if (event.pooling !== request.pooling) return;
      resolve(event.error ?? null);
    });
  });
  try {
    const status = await service.compute(request);
    if (status.state === 'ready') return status;
    const error = await finished;
    if (error !== null)
      throw new StudioError(
        'CONFLICT',
        `the embeddings of run ${request.runId} (block ${status.block}, ${status.pooling} pooling) ` +
          `could not be computed: ${error}`,
        { runId: request.runId },
      );
    return await service.status(request);
  } finally {
    off();
  }
}
