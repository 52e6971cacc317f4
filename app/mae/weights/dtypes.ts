/**
 * Conversions of the floating-point element types found in checkpoints (PyTorch storages,
 * safetensors) to float32, little-endian as both formats store them.
 */

/** Element types we can read as weights, by their safetensors names. */
export type FloatDtype = 'F32' | 'F16' | 'BF16' | 'F64';

/** Bytes per element. */
export const DTYPE_BYTES: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

/** IEEE half → float. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** `count` elements of `dtype` starting at byte `offset` of `bytes` → float32 (a copy). */
export function toFloat32(bytes: Uint8Array, dtype: FloatDtype, offset: number, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  const size = DTYPE_BYTES[dtype];
  if (offset + count * size > bytes.byteLength)
    throw new Error(`tensor data runs past its storage (${offset + count * size} > ${bytes.byteLength} bytes)`);
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes.slice(offset, offset + 4 * count).buffer); // hosts we ship for are little-endian
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(offset + 2 * i, true));
      break;
    case 'BF16': {
      const scratch = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        scratch.setUint32(0, view.getUint16(offset + 2 * i, true) << 16, true); // bfloat16 is the top half of a float32
        out[i] = scratch.getFloat32(0, true);
      }
      break;
    }
  }
  return out;
}

/** Whether a safetensors / storage dtype name is one we read. */
export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype in DTYPE_BYTES;
}
