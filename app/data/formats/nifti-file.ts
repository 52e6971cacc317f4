/**
 * NIfTI files opened by path and read by offsets, so that a volume larger than memory is never
 * held whole: an uncompressed `.nii` is read slice by slice (or row by row) where its voxels lie;
 * a `.nii.gz` is inflated once, as a stream, into an uncompressed copy in the workspace's
 * folder of volume copies (`cache/volume-copies.ts`: reused while the file's size and
 * modification time hold, within a size limit), written under a temporary name then renamed (a
 * crash never leaves a half copy under the real name), and that copy is read by offsets. A file
 * being inflated is inflated once however many reads ask for it at the same time.
 *
 * The header is checked before anything is inflated: a header declaring more than
 * {@link MAX_STREAMED_NIFTI_BYTES} is refused, and a stream inflating beyond what its header
 * declares (plus a small slack) is stopped and refused as a decompression bomb, its partial copy
 * removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
import { copyPaths, recordCopy, reuseCopy } from '../cache/volume-copies';
import { DecodeError } from './decode';
import { isGzip, NIFTI_HEAD_BYTES, parseNifti, type NiftiVolume, type VoxelBytes } from './nifti';

/** Largest uncompressed NIfTI read by offsets (a header declaring more is refused before any read). */
export const MAX_STREAMED_NIFTI_BYTES = 2 ** 34;

/** Bytes a .nii.gz may inflate to beyond what its header declares (extensions, padding). */
const INFLATE_SLACK = 1024 * 1024;

/** Inflations under way in this process, by the copy they write. */
const inflating = new Map<string, Promise<void>>();

/**
 * Voxel bytes read from an open file at `offset` + start, one read per view. Closing lets the
 * file go; a view after that opens it again with `reopen` (a volume let go by the one kept for
 * planes may still be held by a reader), never reading through a descriptor number the process
 * may have given to another file since.
 */
export function fileVoxels(fd: number, offset: number, length: number, reopen?: () => number): VoxelBytes {
  let open: number | null = fd;
  return {
    length,
    view: (start, count) => {
      if (open === null) {
        if (!reopen) throw new DecodeError('the NIfTI file was closed before its voxels were read');
        open = reopen();
      }
      const buffer = Buffer.allocUnsafe(count);
      let done = 0;
      while (done < count) {
        const read = fs.readSync(open, buffer, done, count - done, offset + start + done);
        if (read === 0) throw new DecodeError(`NIfTI file ended at byte ${offset + start + done} while reading voxels`);
        done += read;
      }
      return new DataView(buffer.buffer, buffer.byteOffset, count);
    },
    close: () => {
      if (open !== null) fs.closeSync(open);
      open = null;
    },
  };
}

function readHead(fd: number): Uint8Array {
  const head = Buffer.alloc(NIFTI_HEAD_BYTES);
  const read = fs.readSync(fd, head, 0, head.length, 0);
  return new Uint8Array(head.buffer, head.byteOffset, read);
}

/** Opens an uncompressed NIfTI file for reads by offset; the caller closes `volume.voxels`. */
function openRaw(file: string): NiftiVolume {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    return parseNifti(readHead(fd), size, (offset, needed) =>
      fileVoxels(fd, offset, needed, () => fs.openSync(file, 'r')),
    );
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/** `vox_offset` + voxel bytes the header at the start of a gzip stream declares. */
function declaredBytes(gzipHead: Uint8Array): number {
  const head = gunzipSync(gzipHead, { finishFlush: constants.Z_SYNC_FLUSH });
  // A volume of one voxel stands in for the data, so that only the header is checked here.
  const volume = parseNifti(new Uint8Array(head.buffer, head.byteOffset, head.byteLength), Infinity, () => ({
    length: 0,
    view: () => new DataView(new ArrayBuffer(0)),
    close: () => {},
  }));
  const [x, y, z, t] = volume.size;
  return Number(volume.header.vox_offset) + x * y * z * t * volume.datatype.bytes;
}

/** Bytes the NIfTI header at the start of a gzip stream declares (`vox_offset` + voxels), or null. */
export function gzipNiftiBytes(gzipHead: Uint8Array): number | null {
  try {
    return declaredBytes(gzipHead.subarray(0, NIFTI_HEAD_BYTES));
  } catch {
    return null; // the full read says what is wrong
  }
}

/**
 * Opens a NIfTI file (`.nii` or `.nii.gz`) by path for reads by offset: see the file comment.
 * The caller closes `volume.voxels`. Throws {@link DecodeError} naming what is wrong.
 */
export async function openNiftiFile(file: string): Promise<NiftiVolume> {
  const fd = fs.openSync(file, 'r');
  let head: Uint8Array;
  let stat: fs.Stats;
  try {
    head = readHead(fd);
    stat = fs.fstatSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (!isGzip(head)) return openRaw(file);
  let declared: number;
  try {
    declared = declaredBytes(head);
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(`corrupt or truncated gzip stream in a .nii.gz file (${(error as Error).message})`);
  }
  if (declared > MAX_STREAMED_NIFTI_BYTES)
    throw new DecodeError(
      `NIfTI file too large: its header declares ${declared} bytes of ` +
        `voxels and header, more than the ${MAX_STREAMED_NIFTI_BYTES} read at most`,
    );
  const reused = reuseCopy(file, stat);
  if (reused) return openRaw(reused);
  const { copy } = copyPaths(file);
  let inflation = inflating.get(copy);
  if (!inflation) {
    inflation = inflateTo(file, copy, declared + INFLATE_SLACK, declared).then(() => recordCopy(file, stat));
    inflating.set(copy, inflation);
    inflation.then(
      () => inflating.delete(copy),
      () => inflating.delete(copy),
    );
  }
  await inflation;
  return openRaw(copy);
}

/** Inflates `file` into `target` as a stream, never past `limit` bytes; atomic by rename. */
async function inflateTo(file: string, target: string, limit: number, declared: number): Promise<void> {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
  let written = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      written += chunk.length;
      if (written > limit)
        done(
          new DecodeError(
            `.nii.gz inflates to more than its header declares ` +
              `(${declared} bytes): refused as a possible decompression bomb`,
          ),
        );
      else done(null, chunk);
    },
  });
  try {
    await pipeline(fs.createReadStream(file), createGunzip(), guard, fs.createWriteStream(partial));
    // A whole gzip stream of a cut NIfTI: refused here, so that no broken copy is kept.
    if (written < declared)
      throw new DecodeError(
        `truncated NIfTI file: the .nii.gz inflates to ${written} bytes, its header declares ${declared}`,
      );
    fs.renameSync(partial, target);
  } catch (error) {
    fs.rmSync(partial, { force: true });
    if (error instanceof DecodeError) throw error;
    if ((error as NodeJS.ErrnoException).code?.startsWith('Z_'))
      throw new DecodeError(`corrupt or truncated gzip stream in a .nii.gz file (${(error as Error).message})`);
    throw error;
  }
}
