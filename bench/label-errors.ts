/**
 * How well the suspect list finds label errors: in a workspace with a pretrained run on a
 * labelled project (e.g. `bench/probe-digits.sh`'s), a seeded share of the labelled images get a
 * wrong label (another class, drawn at random; in memory only, the workspace is not changed),
 * then `findSuspects` runs on the run's stored embeddings (computed first if needed) and, as the
 * baseline, on the raw pixels (the same normalised images box-averaged to 16 × 16 per channel,
 * as the probe's). Prints precision and recall of the flagged label errors against the flipped
 * images, and how many flipped images the first n of the list (n = flips) holds.
 *
 *   node dist/bench/label-errors.js --workspace W --run ID [--flip 0.05] [--seed 1] [--k 10] [--block N] [--json]
 */
import { parseArgs } from 'node:util';
import { computeEmbeddings, preferNativeBackend, readForEncoder } from '../app/train/embeddings/compute';
import {
  embeddingTarget,
  readEmbeddings,
  storedStatus,
  writeEmbeddings,
} from '../app/train/embeddings/embedding-store';
import { findSuspects, unitRows } from '../app/train/embeddings/neighbours';
import { Rng } from '../app/mae/rng';
import { rawPixelFeatures } from '../app/train/probe-features';
import { pretrainRunOf } from '../app/train/probe-model';
import { Workspace } from '../app/workspace';

const { values } = parseArgs({
  options: {
    workspace: { type: 'string' },
    run: { type: 'string' },
    flip: { type: 'string' },
    seed: { type: 'string' },
    k: { type: 'string' },
    block: { type: 'string' },
    json: { type: 'boolean' },
  },
});
if (!values.workspace || !values.run)
  throw new Error('usage: label-errors --workspace W --run ID [--flip 0.05] [--seed 1] [--k 10] [--block N]');
const flipShare = Number(values.flip ?? 0.05);
const seed = Number(values.seed ?? 1);
const k = Number(values.k ?? 10);
const request = {
  runId: Number(values.run),
  pooling: 'mean' as const,
  ...(values.block && { block: Number(values.block) }),
};

await preferNativeBackend();
const workspace = new Workspace(values.workspace);
const target = embeddingTarget(workspace, request);
if (storedStatus(workspace, target).state !== 'ready') {
  const started = Date.now();
  const { meta, matrix } = await computeEmbeddings(workspace, target);
  await writeEmbeddings(workspace, target.projectId, meta, matrix);
  console.error(`embedded ${meta.imageIds.length} images in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
const stored = readEmbeddings(workspace, request);
const images = new Map(stored.target.images.map((image) => [image.id, image]));
const rows = stored.meta.imageIds.map((id) => images.get(id)!);
const classes = [...new Set(rows.map((image) => image.label).filter((label): label is string => !!label))].sort();
const truth = rows.map((image) => (image.label ? classes.indexOf(image.label) : -1));

// Flip a seeded share of the labelled images to another class.
const rng = Rng.fromSeed(seed, 401);
const labelled = truth.flatMap((label, row) => (label >= 0 ? [row] : []));
const flipped = new Set(rng.shuffle([...labelled]).slice(0, Math.round(flipShare * labelled.length)));
const labels = truth.map((label, row) =>
  flipped.has(row) ? (label + 1 + Math.floor(rng.uniform() * (classes.length - 1))) % classes.length : label,
);

// The raw-pixel baseline: the same images as the encoder reads them, 16 × 16 per channel.
const plan = pretrainRunOf(workspace, workspace.runs.get(request.runId)).config;
const side = plan.recipe.model.imgSize;
const channels = plan.data.channels;
const rawSide = Math.min(16, side);
const raw = new Float32Array(rows.length * channels * rawSide * rawSide);
const pixels = new Float32Array(channels * side * side);
for (const [row, image] of rows.entries()) {
  await readForEncoder(image, plan, pixels);
  raw.set(rawPixelFeatures(pixels, 1, channels, side, rawSide), row * channels * rawSide * rawSide);
}

function score(name: string, features: Float32Array, width: number) {
  const started = Date.now();
  const found = findSuspects(unitRows(features, rows.length, width), labels, classes.length, k);
  const flagged = found.labelErrors.map((suspect) => suspect.row);
  const hits = flagged.filter((row) => flipped.has(row)).length;
  const top = flagged.slice(0, flipped.size).filter((row) => flipped.has(row)).length;
  const suggestedRight = found.labelErrors.filter(
    (suspect) => flipped.has(suspect.row) && suspect.suggested === truth[suspect.row],
  ).length;
  // The same list cut at a stricter share of disagreeing neighbours.
  const strict = [0.7, 0.9].map((least) => {
    const kept = found.labelErrors.filter((suspect) => suspect.disagreement >= least);
    const right = kept.filter((suspect) => flipped.has(suspect.row)).length;
    return { least, flagged: kept.length, hits: right };
  });
  return {
    features: name,
    width,
    agreement: found.agreement,
    flagged: flagged.length,
    hits,
    strict,
    precision: flagged.length ? hits / flagged.length : null,
    recall: hits / flipped.size,
    topN: top,
    suggestedRight,
    outliers: found.outliers.length,
    seconds: (Date.now() - started) / 1000,
  };
}

const results = [
  score(`run ${request.runId} block ${stored.meta.block} (mean)`, stored.matrix.values, stored.matrix.columns),
  score('raw pixels 16×16', raw, channels * rawSide * rawSide),
];
const summary = { images: rows.length, classes: classes.length, flipped: flipped.size, k, seed, results };
if (values.json) console.log(JSON.stringify(summary));
else {
  console.log(
    `${rows.length} images, ${classes.length} classes, ${flipped.size} labels flipped (seed ${seed}), k = ${k}`,
  );
  console.log(
    '| features | neighbour agreement | flagged | of them flipped | precision ' +
      '| recall | flipped in the first n | right suggestion | outliers | s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  const pct = (value: number | null) => (value === null ? '—' : `${(value * 100).toFixed(1)} %`);
  for (const r of results)
    console.log(
      `| ${r.features} | ${pct(r.agreement)} | ${r.flagged} | ${r.hits} | ${pct(r.precision)} | ${pct(r.recall)}` +
        ` | ${r.topN} / ${flipped.size} | ${r.suggestedRight} | ${r.outliers} | ${r.seconds.toFixed(1)} |`,
    );
  for (const r of results)
    for (const cut of r.strict)
      console.log(`  ${r.features}, disagreement ≥ ${cut.least}: ${cut.flagged} flagged, ${cut.hits} flipped`);
}
workspace.close();
