/** Test helpers over safetensors files. */
import fs from 'node:fs';

/** The tensor entries of a safetensors file (its JSON header, without `__metadata__`). */
export function readSafetensorsHeader(file: string): Record<string, { shape: number[] }> {
  const bytes = fs.readFileSync(file);
  const length = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, { shape: number[] }>;
  delete header.__metadata__;
  return header;
}
