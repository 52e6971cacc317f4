/**
 * The labels part of the contract: labels changed by hand on a selection of images (overrides
 * of the folder label, with their history and undo), and re-fitting a probe on the features it
 * cached, to see what relabelling did to the accuracy.
 */
import { z } from 'zod';
import type { ClassificationScores } from './contract-downstream';
import { Id, ImageSelection, LabelValue, method, returns } from './contract-method';

/** One change of labels by hand: a label set on a selection of images. */
export interface LabelChange {
  id: number;
  projectId: number;
  /** The label set; null when the change cleared the labels. */
  label: string | null;
  /** Who made it: the user account the studio or the CLI ran as. */
  actor: string;
  createdAt: string;
  /** When it was undone; null while it holds. */
  undoneAt: string | null;
  /** How many images it changed. */
  images: number;
  /** The labels those images had before, counted (largest first). */
  previous: { label: string | null; count: number }[];
}

/** The three probes of a probe run, scored on one set of labels. */
export interface ReprobeScores {
  /** Class names, in the order of the confusion matrices. */
  classes: string[];
  trainImages: number;
  valImages: number;
  pretrained: ClassificationScores;
  randomInit: ClassificationScores;
  /** Absent for probes run before the raw-pixel baseline existed. */
  rawPixels: ClassificationScores | null;
}

/** A probe run re-fitted with today's labels: on its run's stored embeddings, baselines on its cached features. */
export interface ReprobeReport {
  probeRunId: number;
  method: 'linear' | 'knn';
  /** The encoder block whose features were cached (1..depth). */
  block: number;
  /**
   * The stored embeddings the pretrained probe was re-fitted on: the pretraining run's, at the
   * probe's block and pooling, from the checkpoint of `step`.
   */
  embeddings: { runId: number; block: number; pooling: 'cls' | 'mean'; step: number };
  /** The checkpoint step the probe read (the embeddings' is newer when the run trained on since). */
  probedStep: number;
  /** The probe as it was run, on the labels of that time. */
  before: ReprobeScores;
  /** The same probe re-fitted on the same features with today's labels. */
  after: ReprobeScores;
  /** Probed images whose label changed since the probe ran. */
  relabelled: number;
  /**
   * Images of the run's splits labelled now whose features the probe did not compute (re-run the probe to include
   * them).
   */
  notEncoded: number;
  /** Images left out of the re-fit, and why. */
  skipped: { reason: string; count: number }[];
  /** Wall-clock seconds of the re-fit (reading the cache included). */
  seconds: number;
}

const HistoryQuery = z.strictObject({
  /** Only changes that touched this image. */
  imageId: Id.optional(),
  limit: z.number().int().min(1).max(1000).default(100),
});
export type HistoryQuery = z.input<typeof HistoryQuery>;

/** Labels changed by hand, and the probe re-fit that shows their effect. */
export const labelServices = {
  labels: {
    /**
     * Sets (or clears, with null) the label of the selected images as an override of their folder label; one history
     * entry.
     */
    set: method(z.tuple([Id, ImageSelection, LabelValue]), returns<{ changed: number; change: LabelChange | null }>()),
    /** Undoes the project's latest change still in force; null when there is none. */
    undo: method(z.tuple([Id]), returns<LabelChange | null>()),
    /** The project's label changes, newest first. */
    history: method(z.tuple([Id, HistoryQuery.optional()]), returns<LabelChange[]>()),
    /**
     * Re-fits a completed probe run with the current labels on its run's stored embeddings (computed first, with
     * `embeddingProgress` events, when missing or out of date) and its cached baseline features.
     */
    reprobe: method(z.tuple([Id]), returns<ReprobeReport>()),
  },
} as const;
