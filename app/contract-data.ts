/**
 * The part of the contract about projects, images and imports: the value types every service
 * returns for them (projects, image rows and details, statistics, dataset health, import results
 * and progress, folder listings, system info) and the list of domains. Merged into
 * `contract.ts` (which re-exports it). No Node, Electron or DOM here: the renderer imports it too.
 */
/** The kinds of images a project can hold (see `Domain`). */
export const DOMAINS = ['general', 'microscopy', 'remote-sensing', 'medical'] as const;
/** What kind of images a project holds; it picks sensible defaults, it never restricts import. */
export type Domain = (typeof DOMAINS)[number];

export interface Project {
  id: number;
  name: string;
  domain: Domain;
  createdAt: string;
  imageCount: number;
  failedCount: number;
  /** Another project has the same name (ignoring case): shown as a warning, never refused by the core. */
  duplicateName?: boolean;
}

/** Per-channel statistics of one image, in the image's own units (0..255 or 0..65535). */
export interface ChannelStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** One row of the image grid. */
export interface ImageSummary {
  id: number;
  path: string;
  label: string | null;
  width: number | null;
  height: number | null;
  channels: number | null;
  bitDepth: number | null;
  format: string | null;
  /** Why the file could not be imported; null for a good image. */
  error: string | null;
  hasThumbnail: boolean;
  /** Left out of training by the user. */
  excluded?: boolean;
  split?: 'train' | 'val' | 'test' | null;
  /** Which sample of its file (DICOM frame, OME plane); 0 for most files. */
  frame?: number;
  /**
   * Name of the sample within its file (`page 2 of 3`, `frame 4 of 10`, `z 2/5 · t 1/1 · c 1–2`); null for single-image
   * files.
   */
  sample?: string | null;
}

/** Everything known about one image, for the detail panel. */
export interface ImageDetail extends ImageSummary {
  projectId: number;
  sha256: string | null;
  sizeBytes: number | null;
  split: 'train' | 'val' | 'test' | null;
  excluded: boolean;
  stats: ChannelStats[] | null;
  importedAt: string;
  /** Which sample of its file this row is (a DICOM frame, an OME-TIFF (z, t) plane); 0 for most. */
  frame?: number;
  /** Technical metadata of formats that have it (never patient data); null for plain images. */
  meta?: ImageMeta | null;
}

/** A display window (DICOM VOI): values from center - width/2 to center + width/2 are shown. */
export interface DisplayWindow {
  center: number;
  width: number;
}

/**
 * Technical metadata of one sample, stored as JSON. Values (stats, pixels) are in the sample's
 * own units: for DICOM, modality units after Rescale Slope/Intercept (Hounsfield units for CT).
 */
export interface ImageMeta {
  /** Type of each stored value; 8/16-bit unsigned images without meta are uint8/uint16. */
  sampleType?: 'uint8' | 'uint16' | 'int16' | 'float32';
  /** How stored values were converted to `sampleType` when they could not be kept as stored (float64 → float32). */
  converted?: string;
  /** Name of each channel (band description, OME channel name), where the file has them. */
  channelNames?: (string | null)[];
  /** Value marking missing pixels (GDAL_NODATA); excluded from stats. */
  nodata?: number | null;
  /** DICOM VOI windows, first one used for the thumbnail. */
  windows?: DisplayWindow[];
  rescale?: { slope: number; intercept: number };
  modality?: string;
  /** DICOM transfer syntax UID and name. */
  transferSyntax?: string;
  photometric?: string;
  /** Physical pixel spacing (row, column), where the file states it. */
  pixelSpacing?: [number, number];
  /** Samples of the file and which one this is; z and t for OME-TIFF planes. */
  frames?: number;
  /** The sample's name within its file, shown beside the file name (see ImageSummary.sample). */
  sample?: string;
  /** TIFF page (1-based) the sample is read from, where the file has several. */
  page?: number;
  z?: number;
  t?: number;
  /** Stored in tiles (width × height). */
  tile?: [number, number];
  /** Too large to decode whole: imported from its header, stats sampled from a few tiles. */
  huge?: boolean;
  /** TIFF pages that are reduced-resolution overviews of this sample. */
  overviews?: number;
}

/** Count of images for one value of a property. */
export interface Bucket {
  key: string;
  count: number;
}

/** The health of a project's dataset, for the curation panel. */
export interface DatasetHealth {
  images: number;
  files: number;
  failed: number;
  duplicates: number;
  excluded: number;
  /** Images the user kept that the channel plan leaves out (their channel count is excluded). */
  leftOutByPlan: number;
  /** Labels the channel plan leaves out entirely, sorted. */
  excludedClasses: string[];
  /** Split of the images the next run uses (kept by the user and by the channel plan). */
  split: { train: number; val: number; unassigned: number };
  formats: Bucket[];
  bitDepths: Bucket[];
  channels: Bucket[];
  /** Image sizes by megapixel range. */
  sizes: Bucket[];
  /** Per label: images the next run uses (`count`, its split), and those the channel plan leaves out. */
  labels: { label: string | null; count: number; train: number; val: number; leftOut: number }[];
  folders: { folder: string; count: number; excluded: number }[];
  duplicateFiles: ImportDuplicate[];
  failures: ImportFailure[];
}

export interface ImagePage {
  total: number;
  offset: number;
  images: ImageSummary[];
}

export interface LabelCount {
  label: string | null;
  count: number;
}

export interface ImportFailure {
  path: string;
  reason: string;
}

export interface ImportDuplicate {
  path: string;
  duplicateOf: string;
}

/** A file an import left alone, and why. */
export interface ImportSkip {
  path: string;
  reason: string;
}

/**
 * The outcome of one import, as the CLI prints it. Counts are of files and add up:
 * `imported + duplicates.length + skipped + errors.length === filesSeen` (less the files not
 * reached when `cancelled`).
 */
export interface ImportResult {
  importId: string;
  projectId: number;
  /** Files with an image extension found under the folders. */
  filesSeen: number;
  /** Files imported (new or changed). */
  imported: number;
  /** Rows the imported files became: one per sample (DICOM frame, TIFF page, OME (z, t) plane). */
  samples: number;
  /** Files already in the project unchanged (same path, size and time), listed in `skippedFiles`. */
  skipped: number;
  skippedFiles: ImportSkip[];
  /** Files whose content is already in the project under another path. */
  duplicates: ImportDuplicate[];
  errors: ImportFailure[];
  seconds: number;
  cancelled: boolean;
  /** Set when the import as a whole failed (what was stored before the failure stays). */
  error?: string;
}

export interface ImportProgress {
  importId: string;
  projectId: number;
  phase: 'walking' | 'importing' | 'done';
  /** Files found so far (final once phase is 'importing'). */
  found: number;
  processed: number;
  /** Files imported, unchanged (skipped), duplicates and failed so far: they add up to `processed`. */
  imported: number;
  skipped: number;
  duplicates: number;
  failed: number;
  /** Estimated seconds left, null until enough files have been processed. */
  etaSeconds: number | null;
  filesPerSecond: number;
}

export interface DirectoryListing {
  path: string;
  parent: string | null;
  entries: { name: string; path: string }[];
  /** How many importable image files sit directly in this folder. */
  imageFiles: number;
}

export interface SystemInfo {
  version: string;
  workspace: string;
  platform: string;
  /** True when a native folder dialog exists (Electron); the browser uses the folder browser. */
  nativeFolderPicker: boolean;
  supportedFormats: string[];
}
