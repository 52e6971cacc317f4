/**
 * Just enough of the ZIP format to read PyTorch checkpoints (`torch.save` writes an
 * uncompressed zip, ZIP64 past 4 GiB): the central directory, then each entry by offset, read
 * from the open file so a multi-gigabyte checkpoint is never held in memory whole.
 */
import fs from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** One member of the archive. */
export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;

/** An open zip file; `close` it when done. */
export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();

  private constructor(
    private readonly fd: number,
    readonly path: string,
    readonly size: number,
  ) {}

  /** Opens `path` and reads its directory; throws naming the file when it is not a zip. */
  static open(path: string): ZipReader {
    const fd = fs.openSync(path, 'r');
    try {
      const reader = new ZipReader(fd, path, fs.fstatSync(fd).size);
      reader.readDirectory();
      return reader;
    } catch (error) {
      fs.closeSync(fd);
      throw error;
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private read(position: number, length: number): Buffer {
    if (position < 0 || position + length > this.size)
      throw new Error(`${this.path} is truncated: needs bytes ${position}..${position + length} of ${this.size}`);
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const got = fs.readSync(this.fd, buffer, done, length - done, position + done);
      if (got === 0) throw new Error(`${this.path} ended early at byte ${position + done}`);
      done += got;
    }
    return buffer;
  }

  private readDirectory(): void {
    const tailLength = Math.min(this.size, 22 + 65535);
    const tail = this.read(this.size - tailLength, tailLength);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--)
      if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
        eocd = i;
        break;
      }
    if (eocd < 0) throw new Error(`${this.path} is not a zip archive (no end-of-directory record)`);
    let count = tail.readUInt16LE(eocd + 10);
    let directorySize = tail.readUInt32LE(eocd + 12);
    let directoryOffset = tail.readUInt32LE(eocd + 16);
    const locator = eocd - 20;
    if (locator >= 0 && tail.readUInt32LE(locator) === ZIP64_LOCATOR_SIGNATURE) {
      const record = this.read(Number(tail.readBigUInt64LE(locator + 8)), 56);
      if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE)
        throw new Error(`${this.path}: broken ZIP64 directory record`);
      count = Number(record.readBigUInt64LE(32));
      directorySize = Number(record.readBigUInt64LE(40));
      directoryOffset = Number(record.readBigUInt64LE(48));
    }
    const directory = this.read(directoryOffset, directorySize);
    let at = 0;
    for (let n = 0; n < count; n++) {
      if (directory.readUInt32LE(at) !== CENTRAL_SIGNATURE)
        throw new Error(`${this.path}: broken central directory at entry ${n}`);
      const method = directory.readUInt16LE(at + 10);
      let compressedSize = directory.readUInt32LE(at + 20);
      let size = directory.readUInt32LE(at + 24);
      const nameLength = directory.readUInt16LE(at + 28);
      const extraLength = directory.readUInt16LE(at + 30);
      const commentLength = directory.readUInt16LE(at + 32);
      let localHeaderOffset = directory.readUInt32LE(at + 42);
      const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
      // ZIP64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in order.
      let extra = at + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = directory.readUInt16LE(extra);
        const length = directory.readUInt16LE(extra + 2);
        if (id === 0x0001) {
          let field = extra + 4;
          if (size === 0xffffffff) {
            size = Number(directory.readBigUInt64LE(field));
            field += 8;
          }
          if (compressedSize === 0xffffffff) {
            compressedSize = Number(directory.readBigUInt64LE(field));
            field += 8;
          }
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = Number(directory.readBigUInt64LE(field));
        }
        extra += 4 + length;
      }
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      at = extraEnd + commentLength;
    }
  }

  /** The uncompressed bytes of `name`. */
  readEntry(name: string): Buffer {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`${this.path} has no member ${name}`);
    const header = this.read(entry.localHeaderOffset, 30);
    if (header.readUInt32LE(0) !== LOCAL_SIGNATURE)
      throw new Error(`${this.path}: member ${name} has a broken local header`);
    const start = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    const raw = this.read(start, entry.compressedSize);
    if (entry.method === 0) return raw;
    if (entry.method === 8) return inflateRawSync(raw);
    throw new Error(`${this.path}: member ${name} uses zip compression method ${entry.method}, which is not supported`);
  }
}
