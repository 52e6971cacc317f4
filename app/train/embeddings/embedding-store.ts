/**
 * Where a run's embeddings live and when they are current. One set per run, block and pooling,
 * under `projects/<id>/embeddings/`: `run-R-block-B-P.npy` (float32 [images, width], the rows in
 * `imageIds` order) beside `run-R-block-B-P.json` (what produced it). A set is current while its
 * fingerprint — the run's newest checkpoint and every embedded image's id, frame and content
 * hash — matches the project's now; labels are not part of it (they are read when used).
 * `readEmbeddings` is how other features (the embedding map, a reprobe) take a current set.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { StudioError, type EmbeddingKey, type EmbeddingRequest, type EmbeddingStatus } from '../../contract';
import { writeFileAtomic } from '../../mae/weights/safetensors';
import type { ImageSource } from '../../store/images';
import { pretrainRunOf } from '../probe-model';
import type { Workspace } from '../../workspace';
import { decodeNpy, encodeNpy, type Matrix } from './npy';

/** A good image of the project, as embedding reads it. */
export type EmbeddableImage = ImageSource & { sha256: string | null; hasThumbnail: boolean };

/** What a request resolves to now: the key, the run's project, depth and checkpoint, the images. */
export interface EmbeddingTarget {
  key: EmbeddingKey;
  projectId: number;
  depth: number;
  checkpoint: { path: string; step: number };
  images: EmbeddableImage[];
  /** Hash of the checkpoint and the images: equal while neither changed. */
  fingerprint: string;
}

/** The JSON beside a stored matrix. */
export interface EmbeddingMeta extends EmbeddingKey {
  format: 'mae-studio-embeddings';
  version: 1;
  fingerprint: string;
  step: number;
  /** Row i of the matrix is the embedding of image `imageIds[i]`. */
  imageIds: number[];
  width: number;
  createdAt: string;
  seconds: number;
  skipped: { imageId: number; path: string; reason: string }[];
}

/** A stored set with its matrix. */
export interface StoredEmbeddings {
  meta: EmbeddingMeta;
  matrix: Matrix;
}

/** Resolves a request against the workspace as it is now; throws naming a bad run or block. */
export function embeddingTarget(workspace: Workspace, request: EmbeddingRequest): EmbeddingTarget {
  const record = workspace.runs.get(request.runId);
  if (record.kind !== 'pretrain' && record.kind !== 'finetune') {
    throw new StudioError(
      'INVALID_ARGUMENT',
      `run ${request.runId} is a ${record.kind} run; embeddings come from a pretraining or fine-tuning run's encoder`,
      { runId: request.runId },
    );
  }
  const pretrain = pretrainRunOf(workspace, record);
  const depth = pretrain.config.recipe.model.depth;
  const block = request.block ?? depth;
  if (block > depth)
    throw new StudioError(
      'INVALID_ARGUMENT',
      `block must be 1..${depth} (the run's encoder has ${depth} block${depth === 1 ? '' : 's'}), got ${block}`,
      { block },
    );
  const checkpoint = workspace.runs.latestCheckpoint(request.runId);
  if (!checkpoint)
    throw new StudioError(
      'NOT_FOUND',
      `run ${request.runId} (${record.status}) has no checkpoint yet; train it first`,
      { runId: request.runId },
    );
  const images = workspace.images.good(record.projectId);
  const hash = crypto.createHash('sha256');
  hash.update(
    JSON.stringify({ checkpoint: checkpoint.path, step: checkpoint.step, block, pooling: request.pooling ?? 'mean' }),
  );
  for (const image of images) hash.update(`\n${image.id}:${image.frame}:${image.sha256 ?? image.path}`);
  return {
    key: { runId: request.runId, block, pooling: request.pooling ?? 'mean' },
    projectId: record.projectId,
    depth,
    checkpoint: { path: checkpoint.path, step: checkpoint.step },
    images,
    fingerprint: hash.digest('hex'),
  };
}

/** The stored files of a key: [matrix, meta]. */
export function embeddingFiles(
  workspace: Workspace,
  projectId: number,
  key: EmbeddingKey,
): { npy: string; json: string } {
  const base = path.join(
    workspace.projectDir(projectId),
    'embeddings',
    `run-${key.runId}-block-${key.block}-${key.pooling}`,
  );
  return { npy: `${base}.npy`, json: `${base}.json` };
}

/** The stored meta of a key, or null when nothing (readable) is stored. */
export function readEmbeddingMeta(workspace: Workspace, projectId: number, key: EmbeddingKey): EmbeddingMeta | null {
  const files = embeddingFiles(workspace, projectId, key);
  if (!fs.existsSync(files.json) || !fs.existsSync(files.npy)) return null;
  const meta = JSON.parse(fs.readFileSync(files.json, 'utf8')) as Partial<EmbeddingMeta>;
  return meta.format === 'mae-studio-embeddings' && meta.version === 1 ? (meta as EmbeddingMeta) : null;
}

/** Writes a set: the matrix first, then its meta (the meta's presence says the matrix is whole). */
export async function writeEmbeddings(
  workspace: Workspace,
  projectId: number,
  meta: EmbeddingMeta,
  matrix: Matrix,
): Promise<void> {
  const files = embeddingFiles(workspace, projectId, meta);
  fs.mkdirSync(path.dirname(files.npy), { recursive: true });
  fs.rmSync(files.json, { force: true });
  await writeFileAtomic(files.npy, encodeNpy(matrix));
  await writeFileAtomic(files.json, Buffer.from(JSON.stringify(meta)));
}

/** The status of a target from what is stored (`computing` is the caller's to say). */
export function storedStatus(workspace: Workspace, target: EmbeddingTarget): EmbeddingStatus {
  const meta = readEmbeddingMeta(workspace, target.projectId, target.key);
  return {
    ...target.key,
    projectId: target.projectId,
    depth: target.depth,
    state: meta === null ? 'missing' : meta.fingerprint === target.fingerprint ? 'ready' : 'stale',
    images: target.images.length,
    stored: meta && {
      images: meta.imageIds.length,
      width: meta.width,
      step: meta.step,
      createdAt: meta.createdAt,
      seconds: meta.seconds,
      skipped: meta.skipped,
    },
    progress: null,
  };
}

/**
 * The current embeddings of a request: throws CONFLICT when they were never computed or the run
 * or the images changed since (compute them first), NOT_FOUND for a bad run.
 */
export function readEmbeddings(
  workspace: Workspace,
  request: EmbeddingRequest,
): StoredEmbeddings & { target: EmbeddingTarget } {
  const target = embeddingTarget(workspace, request);
  const meta = readEmbeddingMeta(workspace, target.projectId, target.key);
  const what = `the embeddings of run ${target.key.runId} (block ${target.key.block}, ${target.key.pooling} pooling)`;
  if (meta === null)
    throw new StudioError('CONFLICT', `${what} have not been computed yet: compute them first`, target.key);
  if (meta.fingerprint !== target.fingerprint)
    throw new StudioError(
      'CONFLICT',
      `${what} are out of date (the run or the images changed since): compute them again`,
      target.key,
    );
  const npy = embeddingFiles(workspace, target.projectId, target.key).npy;
  const matrix = decodeNpy(fs.readFileSync(npy), npy);
  if (matrix.rows !== meta.imageIds.length)
    throw new StudioError(
      'INTERNAL',
      `${npy} holds ${matrix.rows} rows, its meta lists ${meta.imageIds.length} images`,
    );
  return { meta, matrix, target };
}
