/**
 * Embeddings taken elsewhere (QuPath, napari, ilastik, a notebook): into one folder,
 * `embeddings.npy` (float32 [images, width], `numpy.load`), `images.csv` (its rows in order:
 * image id, path, frame, label), `embeddings.csv` (the same columns followed by f0…f(width−1),
 * one row per image) and `embeddings.json` (run, block, pooling, checkpoint step). Labels are the
 * project's labels at export time. Nothing already in the folder is overwritten.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StudioError, type EmbeddingExport } from '../../contract';
import { writeFileAtomic } from '../../mae/weights/safetensors';
import type { EmbeddableImage, StoredEmbeddings } from './embedding-store';
import { encodeNpy } from './npy';

/** The files an export writes. */
export const EMBEDDING_EXPORT_FILES = ['embeddings.npy', 'embeddings.csv', 'images.csv', 'embeddings.json'] as const;

/** A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Writes the export of a stored set; `images` names the rows (every id of the set must be among them). */
export async function exportEmbeddings(
  stored: StoredEmbeddings,
  images: readonly EmbeddableImage[],
  dir: string,
): Promise<EmbeddingExport> {
  const { meta, matrix } = stored;
  const byId = new Map(images.map((image) => [image.id, image]));
  const rows = meta.imageIds.map((id) => {
    const image = byId.get(id);
    if (!image)
      throw new StudioError(
        'CONFLICT',
        `image ${id} of the stored embeddings is no longer in the project: compute them again`,
      );
    return image;
  });
  fs.mkdirSync(dir, { recursive: true });
  const clash = EMBEDDING_EXPORT_FILES.find((name) => fs.existsSync(path.join(dir, name)));
  if (clash) throw new StudioError('CONFLICT', `${dir} already holds ${clash}; choose an empty folder`, { dir });
  const head = ['image_id', 'path', 'frame', 'label'];
  const describe = (image: EmbeddableImage) => [image.id, image.path, image.frame, image.label].map(csvField).join(',');
  const imagesCsv = [head.join(','), ...rows.map(describe)].join('\n') + '\n';
  const features = Array.from({ length: matrix.columns }, (_, d) => `f${d}`);
  const lines = [[...head, ...features].join(',')];
  for (const [index, image] of rows.entries()) {
    const values = matrix.values.subarray(index * matrix.columns, (index + 1) * matrix.columns);
    // The float32 widened to a double, as JavaScript prints it: reads back as the same float32.
    lines.push(`${describe(image)},${Array.from(values, (v) => String(v)).join(',')}`);
  }
  const json = {
    runId: meta.runId,
    block: meta.block,
    pooling: meta.pooling,
    step: meta.step,
    images: rows.length,
    width: matrix.columns,
    createdAt: meta.createdAt,
    rows: 'embeddings.npy row i = images.csv row i',
  };
  const contents: [string, Uint8Array][] = [
    ['embeddings.npy', encodeNpy(matrix)],
    ['embeddings.csv', Buffer.from(lines.join('\n') + '\n')],
    ['images.csv', Buffer.from(imagesCsv)],
    ['embeddings.json', Buffer.from(JSON.stringify(json, null, 2) + '\n')],
  ];
  for (const [name, bytes] of contents) await writeFileAtomic(path.join(dir, name), bytes);
  return {
    runId: meta.runId,
    block: meta.block,
    pooling: meta.pooling,
    dir,
    images: rows.length,
    width: matrix.columns,
    files: contents.map(([name, bytes]) => ({ name, bytes: bytes.byteLength })),
  };
}
