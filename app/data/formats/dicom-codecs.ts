/**
 * Decoders of compressed DICOM frames. The WASM codecs (JPEG baseline via libjpeg-turbo, JPEG-LS
 * via CharLS, JPEG 2000 via OpenJPEG) load on first use, once per process; JPEG lossless uses
 * jpeg-lossless-decoder-js. Each returns the frame's samples as stored (8- or 16-bit).
 *
 * The WASM codecs are emscripten modules, which print to `console.log` / `console.error` unless
 * given their own `print` / `printErr`: OpenJPEG alone writes a dozen `[INFO]` lines per frame,
 * which would land on stdout before `--json` output. Here their lines are kept per decode, the
 * errors among them named in the reason when a frame fails, and otherwise dropped (written to
 * stderr when `MAE_STUDIO_CODEC_LOG` is set).
 */
import { decodeRle } from './dicom-rle';

/** Samples of one decoded frame, little-endian bytes of `bitsAllocated` each, interleaved. */
export interface DecodedFrame {
  bytes: Uint8Array;
  bytesPerSample: 1 | 2 | 4;
  /**
   * True when a JPEG 2000 codestream held sub-sampled chroma (YCbCr 4:2:0 or 4:2:2) which the
   * decoder upsampled to full size and turned into RGB: the bytes are RGB whatever the container says.
   */
  convertedToRgb?: boolean;
}

/** How a compressed frame is decoded. */
export type FrameCodec = 'rle' | 'jpeg-baseline' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg-2000';

const loaded = new Map<string, Promise<WasmCodecModule>>();

/** Lines the WASM codecs printed during the decode in progress (decodes are synchronous). */
const printed: string[] = [];

/** Lines kept per decode: enough for the error, bounded against a codec printing per tile. */
const PRINTED_LINES = 50;

/**
 * Options for an emscripten module factory: where it prints (never to this process's stdout).
 * A fresh object per module: the factory turns the object it is given into the module itself.
 */
export function codecPrintOptions(): WasmModuleOptions {
  return { print: keepLine, printErr: keepLine };
}

function keepLine(text: string): void {
  if (process.env.MAE_STUDIO_CODEC_LOG) process.stderr.write(`[codec] ${text}\n`);
  if (printed.length >= PRINTED_LINES) printed.shift();
  printed.push(String(text));
}

function loadModule(name: 'charls' | 'openjpeg' | 'turbo'): Promise<WasmCodecModule> {
  let module = loaded.get(name);
  if (!module) {
    const factory =
      name === 'charls'
        ? import('@cornerstonejs/codec-charls/decodewasmjs')
        : name === 'openjpeg'
          ? import('@cornerstonejs/codec-openjpeg/decodewasmjs')
          : import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs');
    module = factory.then((imported) => imported.default(codecPrintOptions()));
    loaded.set(name, module);
  }
  return module;
}

const WASM_DECODERS = {
  'jpeg-ls': ['charls', 'JpegLSDecoder'],
  'jpeg-2000': ['openjpeg', 'J2KDecoder'],
  'jpeg-baseline': ['turbo', 'JPEGDecoder'],
} as const;

/** What a frame must hold, to check the decoder's answer against the header. */
export interface FrameShape {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
}

/** Decodes one compressed frame; throws an Error naming what did not match. */
export async function decodeFrame(codec: FrameCodec, data: Uint8Array, shape: FrameShape): Promise<DecodedFrame> {
  const bytesPerSample = shape.bitsAllocated <= 8 ? 1 : shape.bitsAllocated <= 16 ? 2 : 4;
  let bytes: Uint8Array;
  let convertedToRgb = false;
  if (codec === 'rle') {
    bytes = decodeRle(data, shape.rows * shape.columns, shape.samplesPerPixel, bytesPerSample);
  } else if (codec === 'jpeg-lossless') {
    const { Decoder } = await import('jpeg-lossless-decoder-js');
    const copy = Uint8Array.prototype.slice.call(data); // a Buffer's slice() is a view into its pool
    const decoded = new Decoder().decode(copy.buffer, 0, copy.length, bytesPerSample);
    bytes = new Uint8Array(decoded);
  } else {
    const subsampled = codec === 'jpeg-2000' ? j2kSubsampling(data) : [];
    const [moduleName, className] = WASM_DECODERS[codec];
    const module = await loadModule(moduleName);
    const decoder = new module[className]();
    printed.length = 0;
    try {
      decoder.getEncodedBuffer(data.length).set(data);
      try {
        decoder.decode();
      } catch (error) {
        throw new Error(describeCodecFailure(error));
      }
      const info = decoder.getFrameInfo();
      if (info.width !== shape.columns || info.height !== shape.rows) {
        throw new Error(
          `the compressed frame is ${info.width}×${info.height}, the ` +
            `header says ${shape.columns}×${shape.rows}${codecErrors()}`,
        );
      }
      if (subsampled.length > 0) convertedToRgb = checkUpsampledJ2k(subsampled, info, decoder.getColorSpace?.());
      bytes = decoder.getDecodedBuffer().slice();
    } finally {
      decoder.delete();
    }
  }
  const expected = shape.rows * shape.columns * shape.samplesPerPixel * bytesPerSample;
  if (bytes.length < expected)
    throw new Error(`the decoded frame holds ${bytes.length} bytes where ${expected} were expected`);
  const frame = bytes.length === expected ? bytes : bytes.subarray(0, expected);
  return convertedToRgb ? { bytes: frame, bytesPerSample, convertedToRgb } : { bytes: frame, bytesPerSample };
}

/** The codec's own error lines of the decode in progress, as a suffix (`: [ERROR] ...`), or ''. */
function codecErrors(): string {
  const errors = printed
    .filter((line) => /error|fail|invalid|corrupt|truncat/i.test(line))
    .map((line) => line.replace(/^\s*\[\w+\]\s*/, '').trim());
  return errors.length > 0 ? `: ${[...new Set(errors)].slice(0, 3).join('; ')}` : '';
}

/** The WASM codecs throw bare numbers (pointers to C++ exceptions): say what the codec printed. */
function describeCodecFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const detail = codecErrors();
  if (/^\d+$/.test(message)) return `the decoder rejected the compressed data${detail}`;
  return `${message}${detail}`;
}

/**
 * The sub-sampled components of a JPEG 2000 codestream (XRsiz or YRsiz over 1 in its SIZ marker,
 * as YCbCr 4:2:0 codestreams have), each as `component 2 by 2×2`; empty when all are full size.
 */
function j2kSubsampling(data: Uint8Array): string[] {
  // SOC (FF4F) then SIZ (FF51) open a codestream; a JP2 file holds one in its 'jp2c' box.
  let at = -1;
  for (let index = 0; index + 3 < Math.min(data.length, 4096); index++) {
    if (data[index] === 0xff && data[index + 1] === 0x4f && data[index + 2] === 0xff && data[index + 3] === 0x51) {
      at = index + 4;
      break;
    }
  }
  if (at < 0 || at + 38 > data.length) return [];
  const components = (data[at + 36]! << 8) | data[at + 37]!;
  const factors: string[] = [];
  for (let component = 0; component < components && at + 41 + component * 3 <= data.length; component++) {
    const x = data[at + 39 + component * 3]!;
    const y = data[at + 40 + component * 3]!;
    if (x !== 1 || y !== 1) factors.push(`component ${component + 1} by ${x}×${y}`);
  }
  return factors;
}

/** OpenJPEG's colour space after a decode that turned sYCC into RGB (OPJ_CLRSPC_SRGB). */
const OPENJPEG_SRGB = 1;

/**
 * Whether the decoder upsampled a sub-sampled codestream to RGB; throws when it did not. OpenJPEG
 * (as built in the cornerstone codec) takes three components with sub-sampled chroma for sYCC and
 * converts 4:2:0 and 4:2:2 to full-size RGB, reporting sRGB; other layouts (4:1:1, two or four
 * components, over 8 bits) it leaves as they are, and the copy out would then misplace the chroma.
 */
function checkUpsampledJ2k(factors: string[], info: WasmCodecFrameInfo, colorSpace: number | undefined): true {
  if (info.componentCount === 3 && info.bitsPerSample <= 8 && colorSpace === OPENJPEG_SRGB) return true;
  throw new Error(
    `its JPEG 2000 components are subsampled (${factors.join(', ')}), which this decoder reads only as ` +
      `8-bit YCbCr 4:2:0 or 4:2:2 (this codestream: ${info.componentCount} components of ${info.bitsPerSample} ` +
      'bits); convert the file with full-resolution components (e.g. vips or bfconvert to JPEG tiles)' +
      codecErrors(),
  );
}
