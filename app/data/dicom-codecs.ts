/**
 * Decoders of compressed DICOM frames. The WASM codecs (JPEG baseline via libjpeg-turbo, JPEG-LS
 * via CharLS, JPEG 2000 via OpenJPEG) load on first use, once per process; JPEG lossless uses
 * jpeg-lossless-decoder-js. Each returns the frame's samples as stored (8- or 16-bit).
 */
import { decodeRle } from './dicom-rle';

/** Samples of one decoded frame, little-endian bytes of `bitsAllocated` each, interleaved. */
export interface DecodedFrame {
  bytes: Uint8Array;
  bytesPerSample: 1 | 2;
}

/** How a compressed frame is decoded. */
export type FrameCodec = 'rle' | 'jpeg-baseline' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg-2000';

const loaded = new Map<string, Promise<WasmCodecModule>>();

function loadModule(name: 'charls' | 'openjpeg' | 'turbo'): Promise<WasmCodecModule> {
  let module = loaded.get(name);
  if (!module) {
    const factory =
      name === 'charls'
        ? import('@cornerstonejs/codec-charls/decodewasmjs')
        : name === 'openjpeg'
          ? import('@cornerstonejs/codec-openjpeg/decodewasmjs')
          : import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs');
    module = factory.then((imported) => imported.default());
    loaded.set(name, module);
  }
  return module;
}

const WASM_DECODERS = { 'jpeg-ls': ['charls', 'JpegLSDecoder'], 'jpeg-2000': ['openjpeg', 'J2KDecoder'], 'jpeg-baseline': ['turbo', 'JPEGDecoder'] } as const;

/** What a frame must hold, to check the decoder's answer against the header. */
export interface FrameShape {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
}

/** Decodes one compressed frame; throws an Error naming what did not match. */
export async function decodeFrame(codec: FrameCodec, data: Uint8Array, shape: FrameShape): Promise<DecodedFrame> {
  const bytesPerSample = shape.bitsAllocated <= 8 ? 1 : 2;
  let bytes: Uint8Array;
  if (codec === 'rle') {
    bytes = decodeRle(data, shape.rows * shape.columns, shape.samplesPerPixel, bytesPerSample);
  } else if (codec === 'jpeg-lossless') {
    const { Decoder } = await import('jpeg-lossless-decoder-js');
    const copy = Uint8Array.prototype.slice.call(data); // a Buffer's slice() is a view into its pool
    const decoded = new Decoder().decode(copy.buffer, 0, copy.length, bytesPerSample);
    bytes = new Uint8Array(decoded);
  } else {
    const [moduleName, className] = WASM_DECODERS[codec];
    const module = await loadModule(moduleName);
    const decoder = new module[className]();
    try {
      decoder.getEncodedBuffer(data.length).set(data);
      decoder.decode();
      const info = decoder.getFrameInfo();
      if (info.width !== shape.columns || info.height !== shape.rows) {
        throw new Error(`the compressed frame is ${info.width}×${info.height}, the header says ${shape.columns}×${shape.rows}`);
      }
      bytes = decoder.getDecodedBuffer().slice();
    } finally {
      decoder.delete();
    }
  }
  const expected = shape.rows * shape.columns * shape.samplesPerPixel * bytesPerSample;
  if (bytes.length < expected) throw new Error(`the decoded frame holds ${bytes.length} bytes where ${expected} were expected`);
  return { bytes: bytes.length === expected ? bytes : bytes.subarray(0, expected), bytesPerSample };
}
