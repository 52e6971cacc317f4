/**
 * Checkpoint files in the safetensors layout (https://github.com/huggingface/safetensors):
 *   8 bytes  little-endian u64 N = header length
 *   N bytes  UTF-8 JSON: { "__metadata__": { "studio": "<JSON string>" },
 *                         "<tensor name>": { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] }, ... }
 *   rest     raw little-endian float32 blobs, offsets relative to the end of the header
 * Tensors: `model.<reference name>` (weights, layouts as app/mae/params.ts),
 * `optimizer.m.<name>` and `optimizer.v.<name>` (AdamW moments). The `studio` metadata holds
 * the train config, step, optimizer step count and RNG states (see `CheckpointMeta`).
 * Files are written atomically: temp file, fsync, rename, fsync of the directory.
 */
import { open, rename, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StudioError } from '../../contract';
import { DTYPE_BYTES, isFloatDtype, toFloat32 } from './dtypes';

/** One named float32 tensor. */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** Decoded safetensors content. */
export interface SafetensorsContent {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Serialises float32 tensors (in insertion order) and string metadata to safetensors bytes. */
export function encodeSafetensors(tensors: Map<string, NamedTensor>, metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (count !== tensor.data.length)
      throw new Error(
        `tensor ${name}: shape ${JSON.stringify(tensor.shape)} does not hold ${tensor.data.length} values`,
      );
    header[name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - (Buffer.byteLength(headerText) % 8)) % 8); // align the blobs to 8 bytes
  const headerBytes = Buffer.from(headerText, 'utf8');
  const bytes = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  bytes.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const tensor of tensors.values()) {
    bytes.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), position);
    position += tensor.data.byteLength;
  }
  return bytes;
}

/**
 * Parses safetensors bytes; float tensors of any width come out as float32. Throws on a truncated or malformed file.
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContent {
  if (bytes.length < 8) throw new Error(`checkpoint is truncated: ${bytes.length} bytes`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + headerLength > bytes.length)
    throw new Error(`checkpoint header claims ${headerLength} bytes, file has ${bytes.length}`);
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8')) as Record<
    string,
    unknown
  >;
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!isFloatDtype(dtype))
      throw new Error(`tensor ${name} has dtype ${dtype}; only float tensors (F32, F16, BF16, F64) are supported`);
    if (dataStart + end > bytes.length) throw new Error(`tensor ${name} runs past the end of the checkpoint`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * DTYPE_BYTES[dtype])
      throw new Error(`tensor ${name}: shape ${JSON.stringify(shape)} does not fit its ${end - begin} bytes`);
    // a copy, detached from the file buffer
    tensors.set(name, { shape, data: toFloat32(bytes, dtype, dataStart + begin, count) });
  }
  return { tensors, metadata };
}

/** Why the disk refused a write, in words, for the errors a user can act on. */
const STORAGE_ERRORS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  EFBIG: 'the disk is full or the file is over the size limit',
  EROFS: 'the disk is read-only',
};

/**
 * A write failure as a typed error naming the file: STORAGE (the disk is full, over quota,
 * read-only) with the reason in words, anything else passed on unchanged.
 */
export function writeFailure(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const reason = code ? STORAGE_ERRORS[code] : undefined;
  if (!reason) return error;
  return new StudioError('STORAGE', `could not write ${path}: ${reason} (${code}); free some space and try again`, {
    path,
    code,
  });
}

/**
 * Writes `bytes` to `path` so readers see either the old file or the complete new one; on
 * failure no temporary file is left and the error names `path` (see `writeFailure`).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined); // best effort; the write error is what matters
    throw writeFailure(path, error);
  }
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** Writes a checkpoint atomically. */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, NamedTensor>,
  metadata: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads a checkpoint written by `writeSafetensors`. */
export async function readSafetensors(path: string): Promise<SafetensorsContent> {
  return decodeSafetensors(new Uint8Array(await readFile(path)));
}
