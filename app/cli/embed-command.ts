/** `embed`: a run's per-image embeddings of a project, computed (or reused) and written for other tools. */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError, type EmbeddingProgress, type EmbeddingRequest, type StudioClient } from '../contract';
import { EMBEDDING_EXPORT_FILES } from '../train/embeddings/export-files';
import { createOutput, parseCommand, positiveInt, required, UsageError, type Output } from './args';
import { withClient } from './client';

/** Computes the embeddings through the service unless they are current; resolves once they are stored. */
async function computed(client: StudioClient, request: EmbeddingRequest, out: Output): Promise<boolean> {
  const status = await client.embeddings.status({ pooling: 'mean', ...request });
  if (status.state === 'ready') return false;
  const finished = new Promise<EmbeddingProgress>((resolve) => {
    const off = client.on('embeddingProgress', (progress) => {
      if (progress.runId !== status.runId || progress.block !== status.block || progress.pooling !== status.pooling)
        return;
      if (progress.phase === 'batch') out.progress(`embedding: ${progress.done}/${progress.total} images`);
      if (progress.phase === 'finished') {
        off();
        resolve(progress);
      }
    });
  });
  await client.embeddings.compute({ pooling: 'mean', ...request });
  const end = await finished;
  if (end.error) throw new StudioError('INVALID_ARGUMENT', `embedding run ${request.runId} failed: ${end.error}`);
  return true;
}

/**
 * `mae-studio embed --workspace W --run ID --out DIR [--block N] [--pooling cls|mean]`. It computes
 * in this process on the native backend where the addon is built (`preferNativeBackend`).
 */
export async function embedCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand('embed', argv, {
    workspace: { type: 'string' },
    run: { type: 'string' },
    out: { type: 'string' },
    block: { type: 'string' },
    pooling: { type: 'string' },
  });
  const out = createOutput(values.json === true);
  const workspace = path.resolve(required('embed', values, 'workspace'));
  const runId = positiveInt('embed', 'run', required('embed', values, 'run'))!;
  const dir = path.resolve(required('embed', values, 'out'));
  const block = positiveInt('embed', 'block', values.block);
  if (values.pooling !== undefined && values.pooling !== 'cls' && values.pooling !== 'mean')
    throw new UsageError(`embed: --pooling must be one of cls, mean, got ${JSON.stringify(values.pooling)}`);
  const request: EmbeddingRequest = {
    runId,
    ...(block !== undefined && { block }),
    ...(values.pooling !== undefined && { pooling: values.pooling as 'cls' | 'mean' }),
  };
  // An occupied folder is refused before minutes of computing, not after.
  const clash = EMBEDDING_EXPORT_FILES.find((name) => fs.existsSync(path.join(dir, name)));
  if (clash) throw new UsageError(`embed: ${dir} already holds ${clash}; choose an empty folder`);
  await withClient(workspace, {}, async ({ client }) => {
    const fresh = await computed(client, request, out);
    const result = await client.embeddings.export({ pooling: 'mean', ...request }, dir);
    const status = await client.embeddings.status({ pooling: 'mean', ...request });
    out.result({ ...result, computed: fresh, skipped: status.stored?.skipped ?? [] }, () =>
      [
        `${fresh ? 'Computed' : 'Reused'} the embeddings of run ${runId} ` +
          `(block ${result.block}, ${result.pooling} pooling): ${result.images}` +
          ` images × ${result.width} features, written to ${result.dir}:`,
        ...result.files.map((file) => `  ${file.name}  ${file.bytes.toLocaleString('en-US')} bytes`),
        ...(status.stored?.skipped.length
          ? [
              `${status.stored.skipped.length} image(s) could not be embedded:`,
              ...status.stored.skipped.map((s) => `  ${s.path}: ${s.reason}`),
            ]
          : []),
      ].join('\n'),
    );
  });
}
