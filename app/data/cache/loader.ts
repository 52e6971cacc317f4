/**
 * The training loader: draws each batch's samples, windows, crop boxes and flips from the run's
 * data `Rng` (synchronously, all of them first), then assembles the batch — crop, flip,
 * normalise — ahead of the step that needs it. Cached samples are assembled on a worker thread
 * straight from their shard; samples read from files (no cache, huge images) are prepared by the
 * same `prepareSample` and cropped by the same functions on the main thread, so a seed gives the
 * same batches with and without the cache.
 *
 * Ahead of the step: after handing out a batch, the loader draws the next `depth` batches from a
 * copy of the generator's state and starts assembling them (a bounded queue). A prefetched batch
 * is used only when the generator arrives at the exact state it was drawn from, so prefetching
 * never changes what is trained on, and a resumed run redraws from its checkpoint's state.
 * `takeWaitMs` says how long `next` waited for data since it was last asked.
 */
import { Rng, type RngState } from '../../mae/rng';
import { DEFAULT_AUGMENT, resizeBox, sampleCropBox, type AugmentOptions, type CropBox } from '../augment';
import { drawWindow, sampleKey, windowReadSize, type ChannelTransform, type ImageEntry } from '../batches';
import type { Batch, BatchSource } from '../batch';
import type { Region } from '../formats/sample-files';
import { LoaderThread, normalisePlanes } from './loader-worker';
import { preparedSize, prepareSample, type Normalisation, type PreparedSample } from './prepared';
import type { PlacedRecord } from './shards';

/** Options of `trainingLoader`. */
export interface LoaderOptions {
  entries: ImageEntry[];
  imgSize: number;
  /** The stored shorter side (`storedSide(imgSize)`). */
  side: number;
  transform?: ChannelTransform;
  normalisation: Normalisation;
  /** Per entry, its cached record (null or absent: read from its file). */
  records?: (PlacedRecord | null)[];
  augment?: AugmentOptions;
  /** Batches assembled ahead of the step (0: none). */
  depth?: number;
  /** Bytes of prepared samples read from files kept in memory (default 512 MiB). */
  memoryBytes?: number;
}

/** A `BatchSource` that works ahead; `close` ends its thread. */
export interface TrainingLoader extends BatchSource {
  /** Milliseconds `next` spent waiting for a batch since the last call. */
  takeWaitMs(): number;
  close(): Promise<void>;
}

/** How the loader works by default. */
export const DEFAULT_LOADER = {
  depth: 2, // one batch on the thread while the step runs, one more ready: a queue that never grows
  memoryBytes: 512 * 2 ** 20, // prepared samples read from files (the cache needs none: the OS page cache holds shards)
};

interface Pick {
  index: number;
  window: Region | undefined;
  box: CropBox;
  flip: boolean;
}

interface Ahead {
  /** The generator state the batch was drawn from. */
  from: string;
  after: RngState;
  batchSize: number;
  batch: Promise<Batch>;
}

/** The loader of a run's training images. */
export function trainingLoader(options: LoaderOptions): TrainingLoader {
  const { entries, imgSize, side, transform, normalisation } = options;
  if (entries.length === 0) throw new Error('the training loader needs at least one image');
  const records = options.records ?? [];
  const augmentOptions = options.augment ?? DEFAULT_AUGMENT;
  const depth = options.depth ?? DEFAULT_LOADER.depth;
  const channels = normalisation.center.length;
  const plane = imgSize * imgSize;
  const thread = records.some((record) => record) ? new LoaderThread() : null;
  const memory = new PreparedMemory(options.memoryBytes ?? DEFAULT_LOADER.memoryBytes);
  let ahead: Ahead[] = [];
  let waitedMs = 0;

  /** Size of a sample as cropped: its record's, or what preparing its file (or window) gives. */
  const sizeOf = (index: number, window: Region | undefined) => {
    const record = records[index];
    if (record) return { height: record.height, width: record.width };
    const entry = entries[index]!;
    if (window) {
      const read = windowReadSize(entry, window);
      return preparedSize(read.height, read.width, side);
    }
    if (!entry.height || !entry.width) throw new Error(`${entry.path}: its size is not known; import it again`);
    return preparedSize(entry.height, entry.width, side);
  };

  const draw = (rng: Rng, batchSize: number): Pick[] => {
    const indices = Array.from({ length: batchSize }, () => rng.int(entries.length));
    const windows = indices.map((index) => drawWindow(entries[index]!, imgSize, rng));
    return indices.map((index, b) => {
      const size = sizeOf(index, windows[b]);
      const box = sampleCropBox(size.height, size.width, rng, augmentOptions);
      return { index, window: windows[b], box, flip: rng.uniform() < augmentOptions.flipProbability };
    });
  };

  const fromFile = async (pick: Pick): Promise<PreparedSample> => {
    const entry = entries[pick.index]!;
    if (pick.window) return prepareSample(entry, side, transform, pick.window); // windows are never kept
    const key = `${entry.path}#${sampleKey(entry)}`;
    const kept = memory.get(key);
    if (kept) return kept;
    const sample = await prepareSample(entry, side, transform);
    const expected = sizeOf(pick.index, undefined);
    if (sample.height !== expected.height || sample.width !== expected.width) {
      throw new Error(
        `${entry.path}: is ${sample.width}×${sample.height} after preparing, the dataset ` +
          `says ${expected.width}×${expected.height}; the file changed since import: import it again`,
      );
    }
    memory.set(key, sample);
    return sample;
  };

  const assemble = async (picks: Pick[]): Promise<Batch> => {
    const images = new Float32Array(picks.length * channels * plane);
    const cached = picks.flatMap((pick, b) => (records[pick.index] ? [b] : []));
    const threaded =
      cached.length > 0
        ? thread!.run({
            imgSize,
            center: normalisation.center,
            inverse: normalisation.inverse,
            picks: cached.map((b) => ({
              ...withoutKey(records[picks[b]!.index]!),
              box: picks[b]!.box,
              flip: picks[b]!.flip,
            })),
          })
        : null;
    await Promise.all(
      picks.map(async (pick, b) => {
        if (records[pick.index]) return;
        const sample = await fromFile(pick);
        const out = images.subarray(b * channels * plane, (b + 1) * channels * plane);
        resizeBox(
          { data: sample.values, channels: sample.channels, height: sample.height, width: sample.width },
          pick.box,
          imgSize,
          imgSize,
          pick.flip,
          out,
        );
        normalisePlanes(out, normalisation.center, normalisation.inverse, plane);
      }),
    );
    if (threaded) {
      const done = await threaded;
      cached.forEach((b, k) =>
        images.set(done.subarray(k * channels * plane, (k + 1) * channels * plane), b * channels * plane),
      );
    }
    return { images, batchSize: picks.length, channels, height: imgSize, width: imgSize };
  };

  /** Starts assembling a batch; a failure surfaces when (and only if) the batch is used. */
  const launch = (picks: Pick[]): Promise<Batch> => {
    const batch = assemble(picks);
    batch.catch(() => {});
    return batch;
  };

  return {
    async next(rng: Rng, batchSize: number): Promise<Batch> {
      const from = stateKey(rng.state());
      const picks = draw(rng, batchSize); // advances the run's generator exactly as without prefetching
      const head = ahead[0];
      let batch: Promise<Batch>;
      if (head && head.from === from && head.batchSize === batchSize) {
        ahead.shift();
        batch = head.batch;
      } else {
        ahead = []; // drawn from another state (a resumed or reseeded generator): not this run's data
        batch = launch(picks);
      }
      let state = ahead.at(-1)?.after ?? rng.state();
      while (ahead.length < depth) {
        const copy = Rng.fromState(state);
        const queued = draw(copy, batchSize);
        ahead.push({ from: stateKey(state), after: copy.state(), batchSize, batch: launch(queued) });
        state = copy.state();
      }
      const started = performance.now();
      const result = await batch;
      waitedMs += performance.now() - started;
      return result;
    },
    takeWaitMs(): number {
      const waited = waitedMs;
      waitedMs = 0;
      return waited;
    },
    async close(): Promise<void> {
      ahead = [];
      await thread?.close();
    },
  };
}

function stateKey(state: RngState): string {
  return state.join(',');
}

function withoutKey(record: PlacedRecord) {
  return {
    file: record.file,
    offset: record.offset,
    byteLength: record.byteLength,
    channels: record.channels,
    height: record.height,
    width: record.width,
    sampleType: record.sampleType,
  };
}

/** A byte-budgeted LRU of prepared samples (Map iteration order is recency). */
class PreparedMemory {
  private readonly samples = new Map<string, PreparedSample>();
  private bytes = 0;

  constructor(private readonly budget: number) {}

  get(key: string): PreparedSample | undefined {
    const sample = this.samples.get(key);
    if (sample) {
      this.samples.delete(key);
      this.samples.set(key, sample);
    }
    return sample;
  }

  set(key: string, sample: PreparedSample): void {
    if (sample.values.byteLength > this.budget || this.samples.has(key)) return;
    this.samples.set(key, sample);
    this.bytes += sample.values.byteLength;
    for (const [oldest, old] of this.samples) {
      if (this.bytes <= this.budget) break;
      this.samples.delete(oldest);
      this.bytes -= old.values.byteLength;
    }
  }
}
