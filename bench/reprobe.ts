/**
 * Reprobe benchmark: how long re-fitting a probe after relabelling takes, end to end through
 * `reprobe()` (reading the run's stored embeddings and the probe's feature file, today's labels
 * from the store, three fits — pretrained on the embeddings, random init, raw pixels — and their
 * scores), at the sizes a user reaches. The workspace is written straight into SQLite; the stored
 * embeddings hold class-separable Gaussian features of ViT-Tiny width (192) and the feature file
 * the baselines' (the same width, and a 3-channel 16×16 raw-pixel width, 768), so what is timed
 * is the re-fit, not an encoder. 5% of the images are relabelled before the timed call.
 *
 *   node dist/bench/reprobe.js [--images 1000,5000] [--classes 3] [--json]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProbeReport } from '../app/contract';
import { Rng } from '../app/mae/rng';
import type { NewImage } from '../app/store/images';
import { embeddingTarget, writeEmbeddings } from '../app/train/embeddings/embedding-store';
import { buildPretrainPlan } from '../app/train/pretrain-plan';
import { probeFeaturesPath, writeProbeFeatures } from '../app/train/probe-cache';
import { classificationScores } from '../app/train/probe-metrics';
import { reprobe } from '../app/train/reprobe';
import { Workspace } from '../app/workspace';
import { argument, flag } from './shared/options';

const WIDTH = 192; // ViT-Tiny embedDim
const RAW_WIDTH = 3 * 16 * 16; // RGB box-averaged to 16 × 16
const VAL_FRACTION = 0.2;

/** Rows of class-separable features: class mean + unit Gaussian noise. */
function features(rng: Rng, labels: readonly number[], width: number, classes: number): Float32Array {
  const means = Array.from({ length: classes }, () => Float32Array.from({ length: width }, () => rng.normal() * 0.5));
  const out = new Float32Array(labels.length * width);
  labels.forEach((label, row) => {
    for (let d = 0; d < width; d++) out[row * width + d] = means[label]![d]! + rng.normal();
  });
  return out;
}

async function measure(
  images: number,
  classes: number,
): Promise<{
  images: number;
  train: number;
  val: number;
  relabelled: number;
  seconds: number;
  accuracyBefore: number;
  accuracyAfter: number;
}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-bench-reprobe-'));
  const workspace = new Workspace(dir);
  try {
    const rng = Rng.fromSeed(1);
    const projectId = workspace.projects.create('bench', 'general').id;
    const names = Array.from({ length: classes }, (_, k) => `class-${k}`);
    const labels = Array.from({ length: images }, (_, i) => i % classes);
    const rows: NewImage[] = labels.map((label, i) => ({
      projectId,
      path: `/bench/${names[label]}/img-${i}.png`,
      sha256: `h${i}`,
      sizeBytes: 1,
      mtimeMs: 1,
      width: 64,
      height: 64,
      channels: 3,
      bitDepth: 8,
      format: 'png',
      label: names[label]!,
      error: null,
      stats: [0, 1, 2].map(() => ({ mean: 120, std: 40, min: 0, max: 255 })),
      thumbnail: null,
      duplicateOf: null,
    }));
    const ids = workspace.images.insertMany(rows);
    const valCount = Math.round(images * VAL_FRACTION);
    const train = { imageIds: ids.slice(valCount), labels: labels.slice(valCount) };
    const val = { imageIds: ids.slice(0, valCount), labels: labels.slice(0, valCount) };
    // A real plan (the embeddings read its model's depth), with the bench's split.
    const plan = buildPretrainPlan(workspace, projectId, {});
    const pretrain = workspace.runs.create({
      projectId,
      kind: 'pretrain',
      config: { ...plan, data: { ...plan.data, trainImageIds: train.imageIds, valImageIds: val.imageIds } },
    });
    const depth = plan.recipe.model.depth;
    // A checkpoint record (its file is never read: the embeddings are written below, not computed).
    workspace.runs.addCheckpoint(pretrain.id, 1000, path.join(dir, 'checkpoint.safetensors'), 'bench');
    const probe = workspace.runs.create({
      projectId,
      kind: 'probe',
      parentRunId: pretrain.id,
      config: { pretrainRunId: pretrain.id, method: 'linear', k: 20, pooling: 'mean', labelsPerClass: null },
    });
    const order = [...train.labels, ...val.labels];
    const pretrained = features(rng, order, WIDTH, classes);
    // The run's stored embeddings: every image, in the store's order (not the probe's), the same rows.
    const target = embeddingTarget(workspace, { runId: pretrain.id, block: depth, pooling: 'mean' });
    const probeRow = new Map([...train.imageIds, ...val.imageIds].map((id, row) => [id, row]));
    const stored = new Float32Array(target.images.length * WIDTH);
    target.images.forEach((image, row) => {
      const from = probeRow.get(image.id)! * WIDTH;
      stored.set(pretrained.subarray(from, from + WIDTH), row * WIDTH);
    });
    await writeEmbeddings(
      workspace,
      projectId,
      {
        format: 'mae-studio-embeddings',
        version: 1,
        ...target.key,
        fingerprint: target.fingerprint,
        step: 1000,
        imageIds: target.images.map((image) => image.id),
        width: WIDTH,
        createdAt: new Date().toISOString(),
        seconds: 0,
        skipped: [],
      },
      { rows: target.images.length, columns: WIDTH, values: stored },
    );
    await writeProbeFeatures(probeFeaturesPath(workspace.projectDir(projectId), probe.id), {
      pretrainRunId: pretrain.id,
      block: depth,
      pooling: 'mean',
      classes: names,
      train,
      val,
      width: WIDTH,
      rawWidth: RAW_WIDTH,
      pretrained,
      randomInit: features(rng, order, WIDTH, classes),
      rawPixels: features(rng, order, RAW_WIDTH, classes),
    });
    // The "before" numbers are not what is timed: the first re-fit (no label changed) stands in for the probe's report.
    const placeholder = classificationScores([0, 1], [0, 1], names);
    workspace.runs.setResult(probe.id, {
      pretrained: placeholder,
      randomInit: placeholder,
      rawPixels: placeholder,
      classes: names,
      trainImages: 0,
      valImages: 0,
      step: 1000,
      method: 'linear',
      pooling: 'mean',
      k: null,
      labelsPerClass: null,
      skipped: [],
      seconds: 0,
    } as unknown as ProbeReport);
    workspace.runs.setStatus(probe.id, 'completed');
    const first = await reprobe(workspace, probe.id);
    workspace.runs.setResult(probe.id, {
      pretrained: first.after.pretrained,
      randomInit: first.after.randomInit,
      rawPixels: first.after.rawPixels,
      classes: names,
      trainImages: first.after.trainImages,
      valImages: first.after.valImages,
      step: 1000,
      method: 'linear',
      pooling: 'mean',
      k: null,
      labelsPerClass: null,
      skipped: [],
      seconds: 0,
    } as unknown as ProbeReport);

    const relabel = ids.filter((_, i) => i % 20 === 0);
    workspace.labels.set(projectId, { imageIds: relabel }, names[0]!, 'bench');
    const report = await reprobe(workspace, probe.id);
    return {
      images,
      train: report.after.trainImages,
      val: report.after.valImages,
      relabelled: report.relabelled,
      seconds: report.seconds,
      accuracyBefore: report.before.pretrained.accuracy,
      accuracyAfter: report.after.pretrained.accuracy,
    };
  } finally {
    workspace.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = argument('images', '1000,5000').split(',').map(Number);
const classes = Number(argument('classes', '3'));
const results = [];
for (const images of sizes) {
  const result = await measure(images, classes);
  results.push(result);
  if (!flag('json')) {
    console.log(
      `${String(images).padStart(6)} images ` +
        `(${result.train} train / ${result.val} val, ${classes} classes, ${result.relabelled} relabelled): ` +
        `re-fit in ${result.seconds.toFixed(2)} s · pretrained ` +
        `accuracy ${(result.accuracyBefore * 100).toFixed(1)}% → ${(result.accuracyAfter * 100).toFixed(1)}%`,
    );
  }
}
if (flag('json')) console.log(JSON.stringify({ width: WIDTH, rawWidth: RAW_WIDTH, classes, results }));
