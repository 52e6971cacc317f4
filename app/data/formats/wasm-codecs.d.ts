/** The cornerstone WASM codecs ship no types: the part of their embind API used here. */
interface WasmCodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): WasmCodecFrameInfo;
  /** OpenJPEG only: the image's colour space after decoding (OPJ_COLOR_SPACE: 1 sRGB, 3 sYCC, ...). */
  getColorSpace?(): number;
  decode(): void;
  delete(): void;
}
interface WasmEncoder {
  getDecodedBuffer(frameInfo: WasmCodecFrameInfo): Uint8Array;
  getEncodedBuffer(): Uint8Array;
  encode(): void;
  delete(): void;
  setNearLossless?(value: number): void;
  setQuality?(lossless: boolean, quality: number): void;
}
/** Emscripten module options: where the module's stdout and stderr lines go. */
interface WasmModuleOptions {
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}
interface WasmCodecModule {
  JpegLSDecoder: new () => WasmDecoder;
  J2KDecoder: new () => WasmDecoder;
  JPEGDecoder: new () => WasmDecoder;
  JpegLSEncoder: new () => WasmEncoder;
  J2KEncoder: new () => WasmEncoder;
}
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (options?: WasmModuleOptions) => Promise<WasmCodecModule>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (options?: WasmModuleOptions) => Promise<WasmCodecModule>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (options?: WasmModuleOptions) => Promise<WasmCodecModule>;
  export default factory;
}
declare module '@cornerstonejs/codec-charls/wasmjs' {
  const factory: (options?: WasmModuleOptions) => Promise<WasmCodecModule>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/wasmjs' {
  const factory: (options?: WasmModuleOptions) => Promise<WasmCodecModule>;
  export default factory;
}
declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes: number): ArrayBuffer;
  }
}
