/**
 * The part of the contract about seeing the data through a model: per-image embeddings of a
 * pretraining or fine-tuning run (pooled encoder features after a chosen block), computed in
 * the background and stored per run, block and pooling; their export for other tools; each
 * image's nearest neighbours; images far from their class and likely label errors. Merged into
 * `contract.ts` (which re-exports it). No Node, Electron or DOM here: the renderer imports it too.
 */
import { z } from 'zod';
import { FolderPath, Id, method, returns } from './contract-method';

// ---------------------------------------------------------------------------------------------
// Value types

/** Which embeddings: a run, the encoder block read (default: the last, as exported) and the pooling. */
export interface EmbeddingKey {
  runId: number;
  /** 1..depth; depth = the encoder's output, exactly what the ONNX export's `features` give. */
  block: number;
  pooling: 'cls' | 'mean';
}

/** What is stored for a run, block and pooling, and whether it still fits the run and the images. */
export interface EmbeddingStatus extends EmbeddingKey {
  projectId: number;
  depth: number;
  /**
   * `missing`: never computed; `stale`: computed for an older checkpoint or another set of
   * images; `computing`: a job is running now; `ready`: stored and current.
   */
  state: 'missing' | 'stale' | 'computing' | 'ready';
  /** Images the project would embed now (every decoded, non-duplicate image, excluded ones too). */
  images: number;
  /** The stored set, when there is one. */
  stored: {
    images: number;
    /** Features per image. */
    width: number;
    /** Checkpoint step of the weights that produced it. */
    step: number;
    createdAt: string;
    seconds: number;
    /** Images that could not be embedded, with why (a channel count the run cannot read…). */
    skipped: { imageId: number; path: string; reason: string }[];
  } | null;
  /** While computing: images done so far of the total. */
  progress: { done: number; total: number } | null;
}

/** Progress of an embedding job. */
export interface EmbeddingProgress extends EmbeddingKey {
  projectId: number;
  phase: 'started' | 'batch' | 'finished';
  done: number;
  total: number;
  /** On `finished` when the job failed. */
  error?: string;
}

/** One image as the neighbour and outlier lists show it. */
export interface EmbeddedImage {
  imageId: number;
  path: string;
  label: string | null;
  hasThumbnail: boolean;
}

/** A neighbour of an image, with its cosine distance (1 − cosine similarity, 0 = same direction). */
export interface Neighbour extends EmbeddedImage {
  distance: number;
  /** A different file whose embedding is almost identical (see `SimilarImages.nearDuplicateBelow`). */
  nearDuplicate: boolean;
}

/** The nearest neighbours of one image. */
export interface SimilarImages extends EmbeddingKey {
  imageId: number;
  neighbours: Neighbour[];
  /**
   * Distances under this count as near duplicates: a twentieth of the project's median
   * nearest-neighbour distance, so "near" is relative to how close this model puts any two images.
   */
  nearDuplicateBelow: number;
}

/** An image whose embedding disagrees with its label, or sits far from its class. */
export interface SuspectImage extends EmbeddedImage {
  /** `label`: its neighbours and the nearest class centroid say another class; `outlier`: far from its own class. */
  kind: 'label' | 'outlier';
  /** What the embedding suggests instead (for `label`). */
  suggestedLabel: string | null;
  /** Share of its k nearest labelled neighbours with another label (0..1). */
  disagreement: number;
  /** Cosine distance to its class's centroid (the image itself left out). */
  classDistance: number;
  /**
   * How unusual that distance is within its class: a modified z-score of the angle to the centroid, (θ − median) /
   * (1.4826 · MAD).
   */
  robustZ: number;
  /** Sorts the list: higher is worse. */
  score: number;
  /** One sentence saying why it is listed. */
  why: string;
}

/** Likely label errors and outliers of a project, worst first. */
export interface SuspectList extends EmbeddingKey {
  /** Neighbours each image's vote reads. */
  k: number;
  /** Labelled images looked at. */
  images: number;
  /**
   * Share of those whose k nearest labelled neighbours mostly carry their own label: how well the
   * embedding separates the classes at all (null when no image could be judged).
   */
  agreement: number | null;
  /** What makes the list less trustworthy, in words (an embedding that mixes the classes). */
  warnings: string[];
  /** How many of each were found; the lists hold at most `limit` of them. */
  found: { labelErrors: number; outliers: number };
  labelErrors: SuspectImage[];
  outliers: SuspectImage[];
}

/** Files written by an embeddings export. */
export interface EmbeddingExport extends EmbeddingKey {
  dir: string;
  images: number;
  width: number;
  files: { name: string; bytes: number }[];
}

/** One way to colour the map's points: a category per point, or a number per point. */
export type MapColouring =
  | {
      /** Shown in the colour-by menu: `label`, `split`, `format`, `excluded`. */
      name: string;
      kind: 'category';
      categories: string[];
      /** Per point: an index into `categories`, or -1 for none (no label, no split). */
      values: number[];
    }
  | {
      /** A channel statistic, `mean · channel 1`. */
      name: string;
      kind: 'number';
      /** Per point, in the image's own units; null where the image has no such channel. */
      values: (number | null)[];
    };

/** The embedding map: a seeded 2-D UMAP projection of every embedded image, with what colours it. */
export interface EmbeddingMap extends EmbeddingKey {
  projectId: number;
  seed: number;
  /** Point i is image `imageIds[i]`. */
  imageIds: number[];
  /** Per point: the image's path and whether it has a thumbnail (for the hover card). */
  paths: string[];
  hasThumbnail: boolean[];
  /** x, y of every point, interleaved, centred and scaled into [-1, 1]: little-endian float32, base64. */
  coordinates: string;
  /** Seconds the projection took when it was computed (it is stored and reused until the embeddings change). */
  seconds: number;
  /**
   * Images UMAP itself was fitted on: all of them, or a seeded subsample of a large set (the rest
   * placed at the weighted mean of their nearest fitted images' positions).
   */
  fitted: number;
  /** Label, split, format, excluded, then the first channels' mean and std: read now, not stored. */
  colourings: MapColouring[];
}

/** Progress of computing an embedding map: neighbours found (`started`), then layout epochs and placement. */
export interface EmbeddingMapProgress extends EmbeddingKey {
  projectId: number;
  seed: number;
  phase: 'started' | 'layout' | 'finished';
  /** Layout steps done and in all: UMAP's epochs, then blocks of placed images (0 of 0 until neighbours are found). */
  done: number;
  total: number;
  /** On `finished` when it failed. */
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// Argument schemas

const EmbeddingRequest = z.strictObject({
  runId: Id,
  /** Encoder block, 1 = the first; absent: the last (what the exported encoder outputs). */
  block: z.number().int().min(1).max(1000).optional(),
  pooling: z.enum(['cls', 'mean']).default('mean'),
});
export type EmbeddingRequest = z.input<typeof EmbeddingRequest>;

const SimilarOptions = z.strictObject({
  k: z.number().int().min(1).max(200).default(12),
});
export type SimilarOptions = z.input<typeof SimilarOptions>;

const SuspectOptions = z.strictObject({
  k: z.number().int().min(1).max(100).default(10),
  limit: z.number().int().min(1).max(1000).default(50),
});
export type SuspectOptions = z.input<typeof SuspectOptions>;

const MapOptions = z.strictObject({
  /** The projection's seed: the same embeddings and seed give the same map. */
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .default(0),
});
export type MapOptions = z.input<typeof MapOptions>;

// ---------------------------------------------------------------------------------------------
// Services and events

/** Embeddings of a run's encoder over a project's images, and what they show. */
export const embeddingServices = {
  embeddings: {
    /** What is stored for a run, block and pooling, and whether it is current. */
    status: method(z.tuple([EmbeddingRequest]), returns<EmbeddingStatus>()),
    /** Computes the embeddings in the background unless they are current; `embeddingProgress` events follow. */
    compute: method(z.tuple([EmbeddingRequest]), returns<EmbeddingStatus>()),
    /** Writes embeddings.npy, embeddings.csv and images.csv (one row per image: id, path, label) into a folder. */
    export: method(z.tuple([EmbeddingRequest, FolderPath.optional()]), returns<EmbeddingExport>()),
    /** An image's nearest neighbours by cosine distance, near duplicates flagged. */
    similar: method(z.tuple([Id, EmbeddingRequest, SimilarOptions]), returns<SimilarImages>()),
    /** Likely label errors and outliers, worst first. */
    suspects: method(z.tuple([EmbeddingRequest, SuspectOptions]), returns<SuspectList>()),
    /** The embedding map (UMAP, seeded, off the serving thread): computed once per embeddings and seed, then reused. */
    map: method(z.tuple([EmbeddingRequest, MapOptions]), returns<EmbeddingMap>()),
  },
} as const;

/**
 * Events of embedding jobs: started, after each batch, finished (with the error when it failed); the same for a map.
 */
export const embeddingEvents = {
  embeddingProgress: returns<EmbeddingProgress>(),
  embeddingMapProgress: returns<EmbeddingMapProgress>(),
} as const;
