/**
 * The `embeddings` service of the contract over one workspace. A computation runs as a background
 * job in a worker thread (`embedding-jobs.ts`) and reports through `embeddingProgress` events;
 * one job per run, block and pooling at a time. Neighbour and suspect queries read the stored set
 * and keep its unit rows (and the median nearest-neighbour distance) in memory while its
 * fingerprint holds; the every-row-against-every-row parts of them run in the worker thread too.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  StudioError,
  type EmbeddedImage,
  type EmbeddingKey,
  type EmbeddingStatus,
  type StudioImpl,
  type SuspectImage,
} from '../../contract';
import type { StudioEvents } from '../../rpc';
import type { Workspace } from '../../workspace';
import { defaultEmbeddingWorkerPath, runEmbeddingJob } from './embedding-jobs';
import {
  embeddingTarget,
  readEmbeddings,
  storedStatus,
  writeEmbeddings,
  type EmbeddableImage,
} from './embedding-store';
import { exportEmbeddings } from './export-files';
import { mapColourings } from './map-colourings';
import {
  defaultMapWorkerPath,
  encodePoints,
  mapFile,
  readStoredMap,
  runProjection,
  writeStoredMap,
  type StoredMap,
} from './map-projection';
import {
  DEFAULT_SUSPECTS,
  nearestRows,
  unitRows,
  WEAK_AGREEMENT,
  type SuspectRow,
  type SuspectSearch,
  type UnitRows,
} from './neighbours';

type EmbeddingServices = Pick<StudioImpl, 'embeddings'>;

function keyName(projectId: number, key: EmbeddingKey): string {
  return `${projectId}:${key.runId}:${key.block}:${key.pooling}`;
}

function shown(image: EmbeddableImage): EmbeddedImage {
  return { imageId: image.id, path: image.path, label: image.label, hasThumbnail: image.hasThumbnail };
}

function percent(value: number): string {
  return `${Math.round(value * 100)} %`;
}

function suspectImage(row: SuspectRow, image: EmbeddableImage, classes: string[], k: number): SuspectImage {
  const own = image.label ?? '';
  const suggested = row.suggested === null ? null : classes[row.suggested]!;
  const why =
    row.kind === 'label'
      ? `${percent(row.disagreement)} of its ${k} nearest labelled images are not “${own}”, and the ` +
        `“${suggested}” centroid is nearer (${row.otherDistance.toFixed(3)}) ` +
        `than its own class's (${row.classDistance.toFixed(3)})`
      : `distance ${row.classDistance.toFixed(3)} to the “${own}” centroid, where the ` +
        `class's median is ${row.classMedian.toFixed(3)} (robust z ${row.robustZ.toFixed(1)})`;
  return {
    ...shown(image),
    kind: row.kind,
    suggestedLabel: suggested,
    disagreement: row.disagreement,
    classDistance: row.classDistance,
    robustZ: row.robustZ,
    score: row.score,
    why,
  };
}

/**
 * The service, bound to the studio's workspace (read when called), event hub and job tracker;
 * `mapWorkerPath` is the built `map-worker.js` and `workerPath` the built `embedding-worker.js`
 * (default: beside this bundle; null: this thread).
 */
export function embeddingServices(
  workspaceOf: () => Workspace,
  events: StudioEvents,
  track: (job: Promise<unknown>, stop: () => void) => void,
  mapWorkerPath: string | null = defaultMapWorkerPath(),
  workerPath: string | null = defaultEmbeddingWorkerPath(),
): EmbeddingServices {
  const jobs = new Map<string, { done: number; total: number }>();
  // Projections under way, by file: a second request for the same map waits for the first.
  const projecting = new Map<string, Promise<StoredMap>>();
  // Unit rows of the last set read, by fingerprint: neighbour queries come one image at a time.
  let cached: {
    fingerprint: string;
    unit: UnitRows;
    rowOf: Map<number, number>;
    medianNearest: number | null;
    suspects: Map<string, SuspectSearch>;
  } | null = null;

  const status = (target: ReturnType<typeof embeddingTarget>): EmbeddingStatus => {
    const job = jobs.get(keyName(target.projectId, target.key));
    const stored = storedStatus(workspaceOf(), target);
    return job ? { ...stored, state: 'computing', progress: { ...job } } : stored;
  };

  const current = (request: Parameters<EmbeddingServices['embeddings']['status']>[0]) => {
    const stored = readEmbeddings(workspaceOf(), request);
    if (cached?.fingerprint !== stored.meta.fingerprint) {
      cached = {
        fingerprint: stored.meta.fingerprint,
        unit: unitRows(stored.matrix.values, stored.matrix.rows, stored.matrix.columns),
        rowOf: new Map(stored.meta.imageIds.map((id, row) => [id, row])),
        medianNearest: null,
        suspects: new Map(),
      };
    }
    return { ...stored, ...cached };
  };

  const projection = (stored: ReturnType<typeof readEmbeddings>, seed: number): Promise<StoredMap> => {
    const file = mapFile(workspaceOf(), stored.target.projectId, stored.target.key, seed);
    const found = readStoredMap(file, stored.meta.fingerprint, seed);
    if (found) return Promise.resolve(found);
    let running = projecting.get(file);
    if (!running) {
      const controller = new AbortController();
      const started = performance.now();
      const key = { ...stored.target.key, projectId: stored.target.projectId, seed };
      let last = 0;
      const progress = (done: number, total: number) => {
        const now = performance.now();
        if (done > 0 && done < total && now - last < 250) return; // a few events a second, not one per chunk
        last = now;
        events.emit('embeddingMapProgress', { ...key, phase: 'layout', done, total });
      };
      events.emit('embeddingMapProgress', { ...key, phase: 'started', done: 0, total: 0 });
      running = runProjection(stored.matrix, seed, mapWorkerPath, controller.signal, progress)
        .then(async ({ points, fitted }) => {
          const map: StoredMap = {
            format: 'mae-studio-embedding-map',
            version: 1,
            fingerprint: stored.meta.fingerprint,
            seed,
            imageIds: stored.meta.imageIds,
            coordinates: encodePoints(points),
            seconds: (performance.now() - started) / 1000,
            createdAt: new Date().toISOString(),
            fitted,
          };
          await writeStoredMap(file, map);
          return map;
        })
        .then(
          (map) => {
            events.emit('embeddingMapProgress', { ...key, phase: 'finished', done: 1, total: 1 });
            return map;
          },
          (error: unknown) => {
            events.emit('embeddingMapProgress', {
              ...key,
              phase: 'finished',
              done: 0,
              total: 0,
              error: error instanceof Error ? error.message : String(error),
            });
            throw error;
          },
        )
        .finally(() => projecting.delete(file));
      projecting.set(file, running);
      track(
        running.catch(() => {}),
        () => controller.abort(),
      );
    }
    return running;
  };

  return {
    embeddings: {
      status: (request) => status(embeddingTarget(workspaceOf(), request)),
      compute: (request) => {
        const workspace = workspaceOf();
        const target = embeddingTarget(workspace, request);
        const name = keyName(target.projectId, target.key);
        const now = status(target);
        if (now.state === 'ready' || now.state === 'computing') return now;
        const progress = { done: 0, total: target.images.length };
        jobs.set(name, progress);
        const emit = (phase: 'started' | 'batch' | 'finished', error?: string) =>
          events.emit('embeddingProgress', {
            ...target.key,
            projectId: target.projectId,
            phase,
            done: progress.done,
            total: progress.total,
            ...(error && { error }),
          });
        const controller = new AbortController();
        const job = runEmbeddingJob(
          { task: 'compute', workspace: workspace.root, target },
          workerPath,
          controller.signal,
          (done) => {
            progress.done = done;
            emit('batch');
          },
        )
          .then(({ meta, matrix }) => writeEmbeddings(workspace, target.projectId, meta, matrix))
          .then(
            () => {
              jobs.delete(name);
              emit('finished');
            },
            (error: unknown) => {
              // Reported to every listener as the job's outcome (the studio's tracker would call it an import).
              jobs.delete(name);
              emit('finished', error instanceof Error ? error.message : String(error));
            },
          );
        track(job, () => controller.abort());
        emit('started');
        return status(target);
      },
      export: async (request, dir) => {
        const stored = readEmbeddings(workspaceOf(), request);
        const target =
          dir ??
          path.join(
            workspaceOf().projectDir(stored.target.projectId),
            'exports',
            `embeddings-run-${stored.meta.runId}-block-${stored.meta.block}-${stored.meta.pooling}`,
          );
        return exportEmbeddings(stored, stored.target.images, freshFolder(target, dir !== undefined));
      },
      similar: async (imageId, request, { k }) => {
        const set = current(request);
        const row = set.rowOf.get(imageId);
        const images = new Map(set.target.images.map((image) => [image.id, image]));
        if (!images.has(imageId))
          throw new StudioError('NOT_FOUND', `image ${imageId} is not among the project's embedded images`, {
            imageId,
          });
        if (row === undefined)
          throw new StudioError(
            'NOT_FOUND',
            `image ${imageId} could not be ` +
              `embedded: ${set.meta.skipped.find((s) => s.imageId === imageId)?.reason ?? 'no reason recorded'}`,
            { imageId },
          );
        // every row's nearest neighbour: the backend's matMul, in the worker thread
        set.medianNearest ??= await runEmbeddingJob({ task: 'median', unit: set.unit }, workerPath);
        if (cached) cached.medianNearest = set.medianNearest;
        const threshold = set.medianNearest * DEFAULT_SUSPECTS.nearDuplicateFraction;
        const self = images.get(imageId)!;
        return {
          ...set.target.key,
          imageId,
          nearDuplicateBelow: threshold,
          neighbours: nearestRows(set.unit, row, k).map(({ row: other, distance }) => {
            const image = images.get(set.meta.imageIds[other]!)!;
            return { ...shown(image), distance, nearDuplicate: distance < threshold && image.path !== self.path };
          }),
        };
      },
      suspects: async (request, { k, limit }) => {
        const set = current(request);
        const images = new Map(set.target.images.map((image) => [image.id, image]));
        const rowImages = set.meta.imageIds.map((id) => images.get(id)!);
        const classes = [
          ...new Set(
            rowImages.map((image) => image.label).filter((label): label is string => label !== null && label !== ''),
          ),
        ].sort();
        const index = new Map(classes.map((label, i) => [label, i]));
        const labels = rowImages.map((image) => (image.label ? index.get(image.label)! : -1));
        // Labels change without changing the embeddings: the cache is keyed by them too.
        const cacheKey = `${k}:${labels.join(',')}`;
        let found = set.suspects.get(cacheKey);
        if (!found) {
          found = await runEmbeddingJob(
            { task: 'suspects', unit: set.unit, labels, classes: classes.length, k },
            workerPath,
          );
          set.suspects.clear(); // one entry: the labels as they are now
          set.suspects.set(cacheKey, found);
        }
        const name = (row: SuspectRow) => suspectImage(row, rowImages[row.row]!, classes, found.k);
        const warnings =
          found.agreement !== null && found.agreement < WEAK_AGREEMENT
            ? [
                `Only ${percent(found.agreement)} of the labelled images have neighbours that mostly share ` +
                  'their label: this embedding mixes your classes, so many listed images show where the model ' +
                  'is confused rather than wrong labels. A longer-trained run, another block, or a fine-tuned run ' +
                  'separates them better.',
              ]
            : [];
        return {
          ...set.target.key,
          k: found.k,
          images: found.judged,
          agreement: found.agreement,
          warnings,
          found: { labelErrors: found.labelErrors.length, outliers: found.outliers.length },
          labelErrors: found.labelErrors.slice(0, limit).map(name),
          outliers: found.outliers.slice(0, limit).map(name),
        };
      },
      map: async (request, { seed }) => {
        const stored = readEmbeddings(workspaceOf(), request);
        const map = await projection(stored, seed);
        const images = new Map(stored.target.images.map((image) => [image.id, image]));
        const attributes = workspaceOf().curation.mapAttributes(stored.target.projectId);
        const points = map.imageIds.map((id) => ({ image: images.get(id)!, more: attributes.get(id) }));
        return {
          ...stored.target.key,
          projectId: stored.target.projectId,
          seed,
          imageIds: map.imageIds,
          coordinates: map.coordinates,
          seconds: map.seconds,
          fitted: map.fitted ?? map.imageIds.length,
          paths: points.map(({ image }) => image.path),
          hasThumbnail: points.map(({ image }) => image.hasThumbnail),
          colourings: mapColourings(
            points.map(({ image, more }) => ({
              label: image.label,
              format: image.format,
              split: more?.split ?? null,
              excluded: more?.excluded ?? false,
              stats: more?.stats ?? null,
            })),
          ),
        };
      },
    },
  };
}

/** `dir` itself when the user chose it; otherwise `dir`, `dir-2`, … whichever does not exist yet. */
function freshFolder(dir: string, chosen: boolean): string {
  if (chosen) return dir;
  let candidate = dir;
  for (let n = 2; fs.existsSync(candidate); n++) candidate = `${dir}-${n}`;
  return candidate;
}
