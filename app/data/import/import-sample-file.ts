/**
 * Importing a file opened by `formats/sample-files.ts` (DICOM, OME-TIFF, GeoTIFF, huge TIFF): one row per
 * sample, each with statistics in the sample's own units and a thumbnail. Huge samples are never
 * decoded whole: statistics come from a grid of tiles, the thumbnail from an overview or a mosaic.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NewImage } from '../../store/images';
import { summarizeHugeSample, summarizeHugeWindows } from './huge';
import type { ByteBudget } from './memory-budget';
import { rasterDisplay, summarizeRaster, type RasterDisplay } from '../formats/raster';
import type { SampleFile, SampleInfo } from '../formats/sample-files';
import type { PixelSummary } from './stats';
import { thumbnailPath, writeDisplayThumbnail } from './thumbnail';

/** What importing the samples of one file needs from the import. */
export interface SampleImportContext {
  projectDir: string;
  createdFolders: Set<string>;
  thumbnailSize: number;
  memory: ByteBudget;
}

/** Bytes one sample takes decoded, with its 8-bit display copy. */
export function sampleBytes(info: SampleInfo): number {
  if (info.huge) return 64 * 256 * 256 * info.bands * 4; // the sampled grid of blocks
  return info.width * info.height * (info.bands * (info.bitDepth / 8) + 3);
}

/** Rows of every sample of `file`, from the file's row template; throws DecodeError per file. */
export async function importSamples(
  file: SampleFile,
  template: NewImage,
  sha256: string,
  context: SampleImportContext,
): Promise<NewImage[]> {
  const rows: NewImage[] = [];
  for (let index = 0; index < file.samples.length; index++) {
    const info = file.samples[index]!;
    const release = await context.memory.reserve(sampleBytes(info));
    try {
      const { summary, display } = await summarizeSample(file, index, info);
      const relative = thumbnailPath(index === 0 ? sha256 : `${sha256}-${index}`);
      const target = path.join(context.projectDir, relative);
      const folder = path.dirname(target);
      if (!context.createdFolders.has(folder)) {
        fs.mkdirSync(folder, { recursive: true });
        context.createdFolders.add(folder);
      }
      await writeDisplayThumbnail(display, target, context.thumbnailSize);
      const meta = file.extraMeta ? { ...info.meta, ...(await file.extraMeta(index)) } : info.meta;
      rows.push({
        ...template,
        frame: index,
        width: info.width,
        height: info.height,
        channels: info.bands,
        bitDepth: info.bitDepth,
        format: file.format,
        stats: summary.stats,
        thumbnail: relative,
        meta: withVolumeKey(meta, sha256),
      });
    } finally {
      release();
    }
  }
  return rows;
}

/**
 * A slice of a volume file (NIfTI) keyed by its content: volume t of the file is one volume, and
 * the file is one subject for the split. DICOM series are keyed once the whole series is in
 * (`volumes/dicom-series.ts`).
 */
function withVolumeKey(meta: SampleInfo['meta'], sha256: string): SampleInfo['meta'] {
  if (!meta.volume || meta.volume.key) return meta;
  const file = sha256.slice(0, 16);
  return { ...meta, volume: { ...meta.volume, key: `${file}:${meta.volume.volume ?? 0}`, group: file } };
}

async function summarizeSample(
  file: SampleFile,
  index: number,
  info: SampleInfo,
): Promise<{ summary: PixelSummary; display: RasterDisplay }> {
  if (info.huge && file.tiff) return summarizeHugeSample(file.tiff, index);
  if (info.huge) return summarizeHugeWindows(file, index, info);
  const raster = await file.read(index);
  const summary = summarizeRaster(raster, info.nodata);
  const display = rasterDisplay(raster, summary, info.window, info.nodata);
  if (info.invert) for (let i = 0; i < display.pixels.length; i++) display.pixels[i] = 255 - display.pixels[i]!;
  return { summary, display };
}
