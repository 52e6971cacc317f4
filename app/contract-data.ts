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
  /** Whether `label` was set by hand (an override of the folder's label, undoable in the label history). */
  relabelled?: boolean;
  /** The label of the image's folder, whatever `label` says now. */
  folderLabel?: string | null;
  /**
   * Set when this tile stands for a volume (NIfTI, a DICOM series): its slice count. The grid
   * shows the middle slice; labels, exclusion and the split apply to every slice of it.
   */
  slices?: number;
  /** What is wrong with the volume (missing or duplicate slices, mixed orientations). */
  volumeProblems?: string[];
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
  /** When the image was made, as a TIFF's DateTime tag (306) states it: "YYYY:MM:DD HH:MM:SS". */
  dateTime?: string;
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
  /** Where this 2-D slice sits in its volume (NIfTI, a DICOM series, a multi-frame DICOM). */
  volume?: VolumeMeta;
  /** A DICOM frame's series and geometry, from which series are assembled into volumes. */
  plane?: DicomPlane;
  /** A whole-slide image (tiled pyramidal TIFF): its pyramid and scale. */
  slide?: SlideMeta;
  /** Where a slide holds tissue, from its smallest level (training crops are drawn there). */
  tissue?: TissueMask;
}

/** A whole-slide image's pyramid: levels largest first, microns per pixel of level 0. */
export interface SlideMeta {
  vendor: 'aperio' | 'generic';
  compression: string;
  /** Microns per pixel of level 0; null when the file does not say. */
  mpp: number | null;
  /** Objective magnification, where the file states it. */
  magnification?: number;
  levels: { width: number; height: number; downsample: number }[];
}

/**
 * A slide's tissue, cell by cell over a coarse grid laid over level 0: `cells` holds one bit per
 * cell, row by row (base64), set where the cell's share of tissue pixels is at least one half.
 */
export interface TissueMask {
  columns: number;
  rows: number;
  cells: string;
  /** Share of the slide's area that is tissue (0–1). */
  share: number;
  /** The rule that made it, in words (shown in the detail panel). */
  rule: string;
}

/**
 * A DICOM frame's series, subject and geometry. Series and subject are pseudonyms (16 hex digits
 * of a sha256 of the Series Instance UID and the Patient ID), never the identifiers themselves.
 */
export interface DicomPlane {
  series: string;
  subject?: string;
  /** Frame within its file (0-based). */
  frame: number;
  /** Instance Number, where stated. */
  instance?: number;
  /** Image Position (Patient): the first pixel's centre, in mm (LPS+). */
  position?: [number, number, number];
  /** Image Orientation (Patient): row then column direction cosines. */
  orientation?: number[];
}

/**
 * A slice's place in its volume. Slices sharing `key` form one volume (the grid shows one tile for
 * it); slices sharing `group` (one file, one patient) always land on the same side of a split.
 */
export interface VolumeMeta {
  /** The volume's key in the project, and its subject's (pseudonymous: hashes, never UIDs or IDs). */
  key?: string;
  group?: string;
  /** Which volume of a 4-D series (0-based) and how many the series has. */
  volume?: number;
  volumes?: number;
  /** This slice's index along the slice axis (0-based, in position order) and the volume's count. */
  slice: number;
  slices: number;
  /** The voxel axis slices are cut across: k, the file's third axis or a series' slice normal. */
  axis: 'k';
  /** Voxel spacing (i, j, k) in mm; k from the slice positions in a DICOM series. */
  spacing?: [number, number, number];
  /** Voxel (i, j, k) to world (RAS+ for NIfTI, LPS+ for DICOM) in mm, rows of a 4×4 matrix. */
  affine?: number[][];
  /** Axis codes of the affine (`RAS`, `LPS`, ...). */
  orientation?: string;
  /** Where the affine comes from: NIfTI sform, qform, none (spacing only), or DICOM positions. */
  transform?: 'sform' | 'qform' | 'none' | 'dicom';
  /** What is wrong with the volume as a whole: missing or duplicate slices, mixed orientations. */
  problems?: string[];
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
  /** Good images whose label was set by hand (an override of the folder's); absent from older builds. */
  relabelled?: number;
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
  /** DICOM series of the project assembled into volumes, each with what is wrong with it. */
  volumes?: VolumeReport[];
}

/** A DICOM series assembled into a volume: its slices, spacing and problems. */
export interface VolumeReport {
  /** The volume's key (a pseudonym of its series). */
  volume: string;
  /** Folder of its first slice, to find it by. */
  folder: string;
  slices: number;
  /** Voxel spacing (column, row, slice) in mm, where known. */
  spacing: [number, number, number] | null;
  /** Missing or duplicate slices, mixed orientations or sizes; empty when the volume is whole. */
  problems: string[];
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
