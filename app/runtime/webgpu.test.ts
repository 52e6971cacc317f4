/**
 * The webgpu backend gives the numbers of cpu. On CI this runs on Mesa's software rasteriser
 * (llvmpipe through Dawn's OpenGL ES backend, compatibility feature level), asked for by name;
 * where Dawn finds no adapter at all, the file prints one line and skips.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomMasking } from '../mae/masking';
import { createMae, disposeModel, forwardMae } from '../mae/model';
import { Rng } from '../mae/rng';
import type { TrainConfig } from '../train/config';
import { syntheticSource } from '../train/synthetic';
import type { BatchSource } from '../data/batch';
import { MaeTrainer } from '../train/trainer';
import { GpuMemoryError, LateNonFiniteLossError } from '../train/trainer-errors';
import { trainTo } from '../train/trainer.fixtures';
import { readSafetensors } from '../mae/weights/safetensors';
import { countGpuWork } from './webgpu-counter';
import { pretrainedFixture, TINY_PRETRAIN } from '../train/probe.fixtures';
import { selectBackend } from './backend';
import { gelu, layerNorm, linear, softmax, splitHeads } from '../mae/ops';
import { fusedAdamW, fusedAdamWAvailable } from './fused-adamw';
import {
  fusedOpAvailable,
  GELU_KERNEL,
  LAYER_NORM_KERNEL,
  LINEAR_KERNEL,
  SOFTMAX_KERNEL,
  SPLIT_HEADS_KERNEL,
} from './fused-ops';
import { attemptWebGpu, describeAdapter, hasVulkanLoader, isSoftwareAdapter } from './webgpu';
import { gpuBytesInUse } from './webgpu-memory';
import { largestBatchForAdapter, largestTensorBytesPerImage } from '../train/webgpu-batch-limit';
import { existsSync } from 'node:fs';

const quiet = { log: () => undefined };
const probe = await attemptWebGpu({ allowSoftware: true });
if (!probe.ok) console.log(`webgpu tests skipped: ${probe.why}`);

/** 16×16 images, 4×4 patches, 2 channels, 2 encoder blocks: a step is quick even on llvmpipe. */
const SMALL: Partial<TrainConfig> = {
  model: {
    imgSize: 16,
    patchSize: 4,
    inChans: 2,
    embedDim: 32,
    depth: 2,
    numHeads: 2,
    decoderEmbedDim: 16,
    decoderDepth: 1,
    decoderNumHeads: 2,
    mlpRatio: 4,
    normPixLoss: true,
  },
  batchSize: 4,
  totalSteps: 20,
  warmupSteps: 3,
  blr: 0.03,
  seed: 5,
};
const source = syntheticSource({ imgSize: 16, channels: 2 });

/** Loss and every gradient of one MAE forward/backward on the active backend. */
async function lossAndGradients(): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const model = createMae(SMALL.model!, 3);
  const rng = Rng.fromSeed(4);
  const imgs = tf.tensor4d(
    Float32Array.from({ length: 4 * 2 * 16 * 16 }, () => rng.normal()),
    [4, 2, 16, 16],
  );
  const masks = randomMasking({ batchSize: 4, gridSide: 4, maskRatio: 0.75 }, rng);
  const names = [...model.params.keys()];
  const { value, grads } = tf.variableGrads(() => forwardMae(model, imgs, masks).loss, [...model.params.values()]);
  const loss = (await value.data())[0]!; // async reads: webgpu has no synchronous one in Node
  const byName = new Map<string, Float32Array>();
  for (const name of names) byName.set(name, (await grads[model.params.get(name)!.name]!.data()) as Float32Array);
  tf.dispose([value, imgs, ...Object.values(grads)]);
  disposeModel(model);
  return { loss, grads: byName };
}

/** ‖a − b‖ / ‖b‖. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let difference = 0;
  let norm = 0;
  for (let i = 0; i < b.length; i++) {
    difference += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(difference) / Math.max(Math.sqrt(norm), 1e-12);
}

async function losses(backend: 'cpu' | 'webgpu', run: (trainer: MaeTrainer) => Promise<number[]>): Promise<number[]> {
  await selectBackend(backend, quiet);
  return run(MaeTrainer.create(SMALL, source));
}

async function trainLosses(
  trainer: MaeTrainer,
  options: { untilStep?: number; checkpointPath?: string } = {},
): Promise<number[]> {
  const seen: number[] = [];
  await trainTo(trainer, options.untilStep ?? trainer.config.totalSteps, (metrics) => seen.push(metrics.loss));
  if (options.checkpointPath) await trainer.saveCheckpoint(options.checkpointPath);
  trainer.dispose();
  return seen;
}

describe('adapter classification', () => {
  it('names software rasterisers as software, real GPUs not', () => {
    expect(isSoftwareAdapter({ device: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'SwiftShader Device (Subzero)' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', device: 'Apple M2' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'nvidia', device: 'NVIDIA GeForce RTX 4070', isFallbackAdapter: true })).toBe(
      true,
    );
  });

  it('describes the adapter with vendor, architecture and graphics API', () => {
    const line = describeAdapter({
      vendor: 'nvidia',
      architecture: 'ampere',
      deviceName: 'NVIDIA RTX A2000',
      api: 'Vulkan',
      featureLevel: 'core',
      software: false,
      maxBufferSize: 1,
      maxStorageBufferBindingSize: 1,
    });
    expect(line).toBe('GPU (nvidia ampere, NVIDIA RTX A2000) via Vulkan');
  });
});

describe('GPU memory arithmetic', () => {
  it("finds the largest tensor of a step (attention scores here) and the batch an adapter's buffers allow", () => {
    const model = { ...SMALL.model!, imgSize: 64, decoderEmbedDim: 16, decoderNumHeads: 16 } as NonNullable<
      TrainConfig['model']
    >;
    // decoder: 16 heads × 257 tokens²
    expect(largestTensorBytesPerImage(model as never, 0.75)).toBe(4 * 16 * 257 * 257);
    expect(
      largestBatchForAdapter(model as never, 0.75, { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 27 }),
    ).toBe(31);
  });
});

describe.runIf(probe.ok)('webgpu backend', () => {
  const directories: string[] = [];
  beforeAll(() => selectBackend('cpu', quiet));
  afterAll(async () => {
    await selectBackend('cpu', quiet);
    await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
  });

  it('is refused by auto on a software adapter, with the adapter named, and taken when asked for', async () => {
    if (!probe.ok) return;
    const lines: string[] = [];
    const selection = await selectBackend('auto', { log: (line) => lines.push(line) });
    if (probe.adapter.software) {
      expect(selection.backend).not.toBe('webgpu');
      const why = lines.find((line) => line.startsWith('backend webgpu unavailable'));
      // Linux without a Vulkan loader is refused before Dawn loads (no Dawn warnings on stderr).
      if (process.platform === 'linux' && !hasVulkanLoader())
        expect(why).toContain('no Vulkan loader (libvulkan.so.1)');
      else expect(why).toContain(`only a software adapter (${probe.adapter.deviceName}`);
    } else {
      expect(['tfjs-node-gpu', 'webgpu']).toContain(selection.backend);
    }
    const forced = await selectBackend('webgpu', quiet);
    expect(forced).toMatchObject({ backend: 'webgpu', tfBackend: 'webgpu', reason: 'requested' });
    expect(forced.device).toBe(describeAdapter(probe.adapter));
    expect(forced.adapter?.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it('finds the Vulkan loader on LD_LIBRARY_PATH', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'mae-vulkan-'));
    await writeFile(join(directory, 'libvulkan.so.1'), '');
    expect(hasVulkanLoader({ ...process.env, LD_LIBRARY_PATH: `/nonexistent:${directory}` })).toBe(true);
    await rm(directory, { recursive: true, force: true });
  });

  it('gives the loss and gradients of cpu to 1e-4 relative for one MAE step', async () => {
    await selectBackend('cpu', quiet);
    const onCpu = await lossAndGradients();
    await selectBackend('webgpu', quiet);
    const onGpu = await lossAndGradients();
    expect(Math.abs(onGpu.loss - onCpu.loss)).toBeLessThan(1e-4 * Math.abs(onCpu.loss));
    for (const [name, expected] of onCpu.grads)
      expect(relativeError(onGpu.grads.get(name)!, expected), name).toBeLessThan(1e-4);
  });

  it("runs the fused AdamW kernel with the composite update's numbers", async () => {
    await selectBackend('webgpu', quiet);
    expect(fusedAdamWAvailable()).toBe(true);
    const rng = Rng.fromSeed(9);
    const values = (count: number, scale = 1): Float32Array =>
      Float32Array.from({ length: count }, () => scale * rng.normal());
    const [param, m, grad] = [values(300), values(300, 0.1), values(300)].map((v) => tf.tensor2d(v, [20, 15]));
    const v = tf.tensor2d(values(300, 0.1).map(Math.abs), [20, 15]);
    const scalars = {
      lr: 1e-2,
      beta1: 0.9,
      beta2: 0.95,
      epsilon: 1e-8,
      weightDecay: 0.05,
      correction1: 1 - 0.9 ** 3,
      correction2: 1 - 0.95 ** 3,
    };
    const fused = fusedAdamW(param!, m!, v, grad!, scalars);
    const nextM = tf.add(tf.mul(m!, 0.9), tf.mul(grad!, 0.1));
    const nextV = tf.add(tf.mul(v, 0.95), tf.mul(tf.square(grad!), 0.05));
    const denominator = tf.add(tf.div(tf.sqrt(nextV), Math.sqrt(scalars.correction2)), 1e-8);
    const nextParam = tf.sub(
      tf.mul(param!, 1 - 1e-2 * 0.05),
      tf.mul(tf.div(nextM, denominator), 1e-2 / scalars.correction1),
    );
    expect(fused.param.shape).toEqual([20, 15]);
    expect(relativeError(await fused.m.data(), await nextM.data())).toBeLessThan(1e-6);
    expect(relativeError(await fused.v.data(), await nextV.data())).toBeLessThan(1e-6);
    expect(relativeError(await fused.param.data(), await nextParam.data())).toBeLessThan(1e-6);
    tf.dispose([param!, m!, v, grad!, fused.param, fused.m, fused.v, nextM, nextV, denominator, nextParam]);
  });

  /** Values and gradients (for upstream `dy`) of `op` on the active backend. */
  async function valueAndGradients(
    op: (...inputs: tf.Tensor[]) => tf.Tensor,
    inputs: { values: Float32Array; shape: number[] }[],
  ): Promise<Float32Array[]> {
    const tensors = inputs.map(({ values, shape }) => tf.tensor(values, shape));
    const y = tf.tidy(() => op(...tensors));
    const upstream = tf.tensor(
      Float32Array.from({ length: y.size }, (_, i) => Math.sin(0.7 * i)),
      y.shape,
    ); // dy
    const grads = tf.grads(op)(tensors, upstream);
    const values = [await y.data(), ...(await Promise.all(grads.map((g) => g.data())))] as Float32Array[];
    tf.dispose([...tensors, upstream, y, ...grads]);
    return values;
  }

  it.each([
    {
      kernel: LAYER_NORM_KERNEL,
      op: (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => layerNorm(x, gamma, beta),
      shapes: [[6, 5, 48], [48], [48]],
    },
    {
      kernel: LINEAR_KERNEL,
      op: (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => linear(x, weight, bias),
      shapes: [[6, 5, 48], [48, 24], [24]],
    },
    { kernel: GELU_KERNEL, op: (x: tf.Tensor) => gelu(x), shapes: [[6, 5, 48]] },
    { kernel: SOFTMAX_KERNEL, op: (x: tf.Tensor) => softmax(x), shapes: [[6, 5, 48]] },
    // q·1 + k·2 + v·3 makes each part's gradient different, so a swapped part shows.
    {
      kernel: SPLIT_HEADS_KERNEL,
      op: (qkv: tf.Tensor) => {
        const [q, k, v] = splitHeads(qkv, 4);
        return tf.addN([q, tf.mul(k, 2), tf.mul(v, 3)]);
      },
      shapes: [[3, 5, 3 * 4 * 6]],
    },
  ])(
    "runs the fused $kernel forward and backward with the composite ops' numbers on cpu",
    async ({ kernel, op, shapes }) => {
      const rng = Rng.fromSeed(13);
      const inputs = shapes.map((shape, i) => ({
        shape,
        values: Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => (i === 0 ? 3 : 1) + 2 * rng.normal()),
      }));
      await selectBackend('cpu', quiet);
      const onCpu = await valueAndGradients(op as never, inputs);
      await selectBackend('webgpu', quiet);
      expect(fusedOpAvailable(kernel)).toBe(true);
      const before = tf.memory().numTensors;
      const onGpu = await valueAndGradients(op as never, inputs);
      expect(tf.memory().numTensors).toBe(before);
      onCpu.forEach((expected, i) =>
        expect(relativeError(onGpu[i]!, expected), i === 0 ? 'value' : `gradient ${i}`).toBeLessThan(1e-5),
      );
    },
  );

  it('tracks the cpu loss for 20 steps, reading losses once per log, across backends via checkpoints', async () => {
    const onCpu = await losses('cpu', (trainer) => trainLosses(trainer));
    await selectBackend('webgpu', quiet);
    const { result: onGpu, counted } = await countGpuWork(() =>
      losses('webgpu', (trainer) => {
        trainer.lossReads = { everySteps: 6, everyMs: 1e9 };
        return trainLosses(trainer);
      }),
    );
    expect(counted.reads).toBe(4); // after steps 6, 12, 18 and 20: the losses are the only reads
    expect(onGpu).toHaveLength(20);
    onGpu.forEach((loss, i) => expect(Math.abs(loss - onCpu[i]!), `step ${i + 1}`).toBeLessThan(1e-4 * onCpu[i]!));

    const directory = await mkdtemp(join(tmpdir(), 'mae-webgpu-'));
    directories.push(directory);
    const checkpoint = join(directory, 'cpu.safetensors');
    const firstHalf = await losses('cpu', (trainer) =>
      trainLosses(trainer, { untilStep: 10, checkpointPath: checkpoint }),
    );
    await selectBackend('webgpu', quiet);
    const secondHalf = await trainLosses(await MaeTrainer.resume(checkpoint, source));
    expect([...firstHalf, ...secondHalf]).toHaveLength(20);
    secondHalf.forEach((loss, i) =>
      expect(Math.abs(loss - onCpu[i + 10]!), `step ${i + 11}`).toBeLessThan(1e-4 * onCpu[i + 10]!),
    );

    // And the other way: a webgpu checkpoint (moments copied out of the packed AdamW state) continues on cpu.
    const gpuCheckpoint = join(directory, 'webgpu.safetensors');
    await losses('webgpu', (trainer) => trainLosses(trainer, { untilStep: 10, checkpointPath: gpuCheckpoint }));
    await selectBackend('cpu', quiet);
    const onCpuAfterGpu = await trainLosses(await MaeTrainer.resume(gpuCheckpoint, source));
    onCpuAfterGpu.forEach((loss, i) =>
      expect(Math.abs(loss - onCpu[i + 10]!), `step ${i + 11}`).toBeLessThan(1e-4 * onCpu[i + 10]!),
    );
  });

  it("stops a step whose tensors pass the adapter's buffer cap, with a checkpoint and a batch that fits", async () => {
    if (!probe.ok) return;
    await selectBackend('webgpu', quiet);
    // 16 decoder heads over 257 tokens: 4.2 MB of attention scores per image.
    const model = { ...SMALL.model!, imgSize: 64, decoderEmbedDim: 16, decoderNumHeads: 16 };
    const fits = largestBatchForAdapter(model as never, 0.75, probe.adapter);
    const directory = await mkdtemp(join(tmpdir(), 'mae-webgpu-oom-'));
    directories.push(directory);
    const checkpoint = join(directory, 'oom.safetensors');
    const trainer = MaeTrainer.create(
      { ...SMALL, model, batchSize: fits + 1 },
      syntheticSource({ imgSize: 64, channels: 2 }),
    );
    const before = await trainer.model.params.get('decoder_pred.weight')!.data();
    // As the run's loop does: the step fails, the weights of the last good step are checkpointed.
    const failure = await trainer.advance().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(GpuMemoryError);
    await trainer.flushLosses();
    await trainer.saveCheckpoint(checkpoint);
    expect((failure as GpuMemoryError).message).toMatch(
      new RegExp(
        `^a GPU buffer over the adapter's limits \\(.*\\) at step ` +
          `1 with batch ${fits + 1}; batch ${fits} fits this GPU`,
      ),
    );
    expect(existsSync(checkpoint)).toBe(true);
    // no update from the failed step
    expect(await trainer.model.params.get('decoder_pred.weight')!.data()).toEqual(before);
    expect(gpuBytesInUse()).toBeGreaterThan(0);
    trainer.dispose();
  });

  it('finds a NaN loss at the next checkpoint at the latest and keeps the checkpoint before it', async () => {
    await selectBackend('webgpu', quiet);
    let batches = 0;
    const poisoned: BatchSource = {
      // step 3's images are NaN
      next: async (rng, batchSize) => {
        const batch = await source.next(rng, batchSize);
        if (++batches === 3) batch.images.fill(Number.NaN);
        return batch;
      },
    };
    const directory = await mkdtemp(join(tmpdir(), 'mae-webgpu-nan-'));
    directories.push(directory);
    const checkpoint = join(directory, 'nan.safetensors');
    const trainer = MaeTrainer.create(SMALL, poisoned);
    trainer.lossReads = { everySteps: 10, everyMs: 1e9 }; // longer than the checkpoint period
    const seen: number[] = [];
    // As the run's loop does: a checkpoint every 2 steps, the losses read before each.
    let failure: unknown = null;
    try {
      while (trainer.step < 8) {
        (await trainer.advance()).forEach((metrics) => seen.push(metrics.step));
        if (trainer.step % 2 === 0) {
          (await trainer.flushLosses()).forEach((metrics) => seen.push(metrics.step));
          await trainer.saveCheckpoint(checkpoint);
        }
      }
    } catch (error) {
      failure = error;
      if (error instanceof LateNonFiniteLossError) error.finiteSteps.forEach((metrics) => seen.push(metrics.step));
    }
    expect(failure).toBeInstanceOf(LateNonFiniteLossError);
    expect((failure as LateNonFiniteLossError).lastGoodStep).toBe(2);
    expect((failure as LateNonFiniteLossError).message).toMatch(
      /^training diverged at step 3: the loss is NaN .*found when the losses up to step 4 were read/,
    );
    expect(seen).toEqual([1, 2]);
    const saved = await readSafetensors(checkpoint);
    expect(JSON.parse(saved.metadata.studio!).step).toBe(2); // not the step-4 weights, updated from the NaN
    for (const [name, tensor] of saved.tensors) expect(tensor.data.every(Number.isFinite), name).toBe(true);
    trainer.dispose();
  });

  it("gives a webgpu pretraining run (losses read per interval) the cpu run's metric rows, every step", async () => {
    const [onCpu, onGpu] = [
      await pretrainedFixture(),
      await pretrainedFixture({ ...TINY_PRETRAIN, backend: 'webgpu' }),
    ];
    try {
      const rows = (fixture: typeof onCpu, name: string) =>
        fixture.open((workspace) => workspace.runs.metrics(fixture.runId, name));
      for (const name of ['train_loss', 'val_loss', 'lr']) {
        const [cpu, gpu] = [rows(onCpu, name), rows(onGpu, name)];
        expect(
          gpu.map((row) => row.step),
          name,
        ).toEqual(cpu.map((row) => row.step));
        gpu.forEach((row, i) =>
          expect(Math.abs(row.value - cpu[i]!.value), `${name} at step ${row.step}`).toBeLessThanOrEqual(
            1e-4 * Math.abs(cpu[i]!.value),
          ),
        );
      }
      expect(rows(onCpu, 'train_loss')).toHaveLength(TINY_PRETRAIN.steps!);
    } finally {
      onCpu.remove();
      onGpu.remove();
    }
  });

  it('does not leak tensors over a few train steps', async () => {
    await selectBackend('webgpu', quiet);
    const trainer = MaeTrainer.create(SMALL, source);
    await trainer.trainStep();
    const before = tf.memory().numTensors;
    await trainTo(trainer, 4);
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
  });
});
