/**
 * Files that hold typed samples sharp cannot keep exactly — DICOM (any frame count), TIFFs that
 * are multi-page, OME, GeoTIFF with nodata, many-band, signed, float or huge — behind one
 * interface: how many samples, each one's layout and metadata, and reading a sample or a window
 * of it. Plain PNG/JPEG/WebP and plain TIFFs stay with sharp (`decode.ts`); `openSampleFile`
 * says which by looking at the bytes (`formats.ts`), never trusting the extension.
 */
import type { DisplayWindow, ImageMeta } from '../../contract';
import { DecodeError } from './decode';
import { dicomMeta, readDicomFrame, readDicomLayout, dicomSampleType } from './dicom';
import { sniffFormat } from './formats';
import { openNiftiFile } from './nifti-file';
import { niftiMeta, niftiSampleCount, readNifti, readNiftiSlice, type NiftiVolume } from './nifti';
import { bitsOf, type Raster, type SampleType } from './raster';
import { openSlideFile } from './slide-file';
import { needsGeotiff, readTiffLayout, readTiffSample, tiffMeta, type Region, type TiffLayout } from './tiff';

export type { Region } from './tiff';

/** Layout of one sample of a file. */
export interface SampleInfo {
  width: number;
  height: number;
  bands: number;
  sampleType: SampleType;
  /** `bit_depth` as stored: 8, 16 or 32. */
  bitDepth: 8 | 16 | 32;
  meta: ImageMeta;
  /** Display window (DICOM VOI) for the thumbnail. */
  window?: DisplayWindow;
  /** MONOCHROME1: low values are white. */
  invert: boolean;
  nodata: number | null;
  /** Too large to decode whole: read by windows only. */
  huge: boolean;
}

/** A file opened for its samples. */
export interface SampleFile {
  /** Format name stored in `images.format`: dicom, tiff, ome-tiff, geotiff. */
  format: string;
  samples: SampleInfo[];
  /** Reads one sample whole, or only the blocks covering `region`. */
  read(index: number, region?: Region): Promise<Raster>;
  /** The TIFF structure, for huge-image sampling. */
  tiff?: TiffLayout;
  /** Huge samples of other formats (OME-Zarr): the block (chunk) size windows are aligned to. */
  blocks?: { width: number; height: number };
  /** Huge samples of other formats: the sample from a smaller level of at most `maxPixels`, if any. */
  readOverview?(index: number, maxPixels: number): Promise<Raster | null>;
  /** Metadata that costs a read (a slide's tissue mask): asked once per sample at import. */
  extraMeta?(index: number): Promise<Partial<ImageMeta>>;
  /** Releases a file handle (files opened by path). */
  close(): Promise<void>;
}

/** Where a file's bytes come from: all of them, or its path when too large to read whole. */
export type FileSource =
  | { bytes: Uint8Array; path: string }
  | { bytes: null; head: Uint8Array; path: string; size: number };

/**
 * Opens a file for its samples, or returns null when sharp reads it exactly (PNG, JPEG, WebP, a
 * plain TIFF, or bytes nothing recognises, which sharp then refuses with its reason). What the
 * file is comes from {@link sniffFormat}; `fileName` only breaks its tie. Throws
 * {@link DecodeError} naming what is wrong with the file.
 */
export async function openSampleFile(source: FileSource, fileName: string): Promise<SampleFile | null> {
  const sniffed = sniffFormat(source.bytes ?? source.head, fileName);
  if (sniffed.format === 'dicom') {
    if (!source.bytes) throw new DecodeError(`DICOM file too large to read (${source.size} bytes)`);
    return dicomSampleFile(source.bytes, sniffed.part10 ? undefined : sniffed.transferSyntax);
  }
  if (sniffed.format === 'nifti') {
    // Too large to read whole (or a .nii.gz of a large volume): read by offsets, slice by slice.
    if (!source.bytes) return niftiSampleFile(await openNiftiFile(source.path));
    return niftiSampleFile(openNifti(source.bytes, source.path));
  }
  if (sniffed.format === 'tiff') {
    // Whole-slide pyramids (JPEG / JPEG 2000 tiles) have their own reader; other TIFFs geotiff.js.
    const slide = await openSlideFile(source.bytes ? source : { ...source, bytes: null });
    if (slide) return slide;
    const layout = await readTiffLayout(source.bytes ?? { path: source.path, size: source.size });
    if (!needsGeotiff(layout) && source.bytes) return null;
    return tiffSampleFile(layout, source.bytes === null);
  }
  return null;
}

function tiffSampleFile(layout: TiffLayout, opened: boolean): SampleFile {
  const sampleType = layout.sampleType;
  const format = layout.ome ? 'ome-tiff' : layout.nodata !== null || layout.channelNames ? 'geotiff' : 'tiff';
  return {
    format,
    tiff: layout,
    samples: layout.samples.map((_, index) => ({
      width: layout.width,
      height: layout.height,
      bands: layout.bands,
      sampleType,
      bitDepth: bitsOf(sampleType),
      meta: tiffMeta(layout, index),
      invert: false,
      nodata: layout.nodata,
      huge: layout.huge,
    })),
    read: (index, region) => readTiffSample(layout, index, region),
    close: async () => {
      if (opened) await layout.tiff.close();
    },
  };
}

function dicomSampleFile(bytes: Uint8Array, bareSyntax: string | undefined): SampleFile {
  const layout = readDicomLayout(bytes, bareSyntax);
  const sampleType = dicomSampleType(layout);
  const info: SampleInfo = {
    width: layout.columns,
    height: layout.rows,
    bands: layout.samplesPerPixel,
    sampleType,
    bitDepth: bitsOf(sampleType),
    meta: dicomMeta(layout),
    ...(layout.windows[0] && { window: layout.windows[0] }),
    invert: layout.photometric === 'MONOCHROME1',
    nodata: null,
    huge: false,
  };
  return {
    format: 'dicom',
    // Frames of a multi-frame file are named (`frame 4 of 10`) wherever a sample shows.
    samples: Array.from({ length: layout.frames }, (_, frame) => {
      const plane = layout.planes?.[frame];
      return layout.frames === 1
        ? info
        : {
            ...info,
            meta: { ...info.meta, ...(plane && { plane }), sample: `frame ${frame + 1} of ${layout.frames}` },
          };
    }),
    read: async (index, region) => {
      const frame = await readDicomFrame(layout, index);
      return region ? cropRaster(frame, region) : frame;
    },
    close: async () => {},
  };
}

/**
 * The last NIfTI file parsed, kept: training reads a volume slice by slice, each read a separate
 * open, and a .nii.gz would otherwise be inflated whole for every slice.
 */
let lastNifti: { path: string; bytes: Uint8Array; volume: NiftiVolume } | null = null;
let forgetNifti: NodeJS.Timeout | undefined;

/** How long the last NIfTI file stays parsed after its last read. */
const NIFTI_KEPT_MS = 30_000;

function openNifti(bytes: Uint8Array, path: string): NiftiVolume {
  const volume =
    lastNifti && lastNifti.path === path && sameBytes(lastNifti.bytes, bytes) ? lastNifti.volume : readNifti(bytes);
  lastNifti = { path, bytes, volume };
  // A long-lived process (the app after an import) does not hold a volume it no longer reads.
  clearTimeout(forgetNifti);
  forgetNifti = setTimeout(() => (lastNifti = null), NIFTI_KEPT_MS);
  forgetNifti.unref();
  return volume;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a === b ||
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

function niftiSampleFile(volume: NiftiVolume): SampleFile {
  const [width, height] = volume.size;
  return {
    format: 'nifti',
    samples: Array.from({ length: niftiSampleCount(volume) }, (_, index) => ({
      width,
      height,
      bands: volume.datatype.bands,
      sampleType: volume.sampleType,
      bitDepth: bitsOf(volume.sampleType),
      meta: niftiMeta(volume, index),
      invert: false,
      nodata: null,
      huge: false,
    })),
    read: async (index, region) => {
      const slice = readNiftiSlice(volume, index);
      return region ? cropRaster(slice, region) : slice;
    },
    close: async () => volume.voxels.close(),
  };
}

/** A window of a raster, copied. */
export function cropRaster(raster: Raster, region: Region): Raster {
  const { bands } = raster;
  if (
    region.x < 0 ||
    region.y < 0 ||
    region.x + region.width > raster.width ||
    region.y + region.height > raster.height
  ) {
    throw new DecodeError(
      `region ${region.x},${region.y} ${region.width}×${region.height} ` +
        `is outside the ${raster.width}×${raster.height} image`,
    );
  }
  const values = new (raster.values.constructor as new (length: number) => Raster['values'])(
    region.width * region.height * bands,
  );
  for (let y = 0; y < region.height; y++) {
    const start = ((region.y + y) * raster.width + region.x) * bands;
    values.set(raster.values.subarray(start, start + region.width * bands) as never, y * region.width * bands);
  }
  return { width: region.width, height: region.height, bands, sampleType: raster.sampleType, values };
}
