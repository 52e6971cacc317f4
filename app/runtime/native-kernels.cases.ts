/**
 * Test cases for native-kernels.test.ts: for every kernel the `native` backend replaces, ops on
 * awkward shapes (odd sizes, broadcasting, 1-element and empty dims, transposes, fallbacks) and
 * at least one case large enough that the addon splits it over threads. Inputs are described,
 * not made, so each backend builds the same values itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gelu, layerNorm, linear, softmax, splitHeads } from '../mae/ops';
import {
  GELU_GRAD_KERNEL,
  GELU_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  LINEAR_GRAD_KERNEL,
  LINEAR_KERNEL,
  MERGE_HEADS_KERNEL,
  SOFTMAX_GRAD_KERNEL,
  SOFTMAX_KERNEL,
  SPLIT_HEADS_KERNEL,
} from './fused-ops';

/** How an input's values are drawn. */
export type Fill = 'normal' | 'positive' | 'nonzero' | { indices: number } | { values: number[] };

/** One input: its shape and how to fill it (float32 unless `indices`). */
export interface InputSpec {
  shape: number[];
  fill: Fill;
}

/** One op on one set of inputs. */
export interface KernelCase {
  /** What is awkward about it (shapes, attributes). */
  label: string;
  inputs: InputSpec[];
  /** The op, on tensors made from `inputs` in order. */
  op: (xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  /** What the cpu backend runs instead of `op` where its own kernel is wrong (default: `op`). */
  reference?: (xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  /** Compare gradients too (default true); the int32 inputs are never differentiated. */
  gradient?: boolean;
  /** The forward op calls the addon (default) or, false, does not: a cpu fallback, or nothing to compute. */
  native?: boolean;
  /** Big enough that the addon cuts it into several tasks (the thread test needs one per kernel). */
  threaded?: boolean;
}

const normal = (...shape: number[]): InputSpec => ({ shape, fill: 'normal' });
const positive = (...shape: number[]): InputSpec => ({ shape, fill: 'positive' });
const nonzero = (...shape: number[]): InputSpec => ({ shape, fill: 'nonzero' });
const indices = (below: number, ...shape: number[]): InputSpec => ({ shape, fill: { indices: below } });

/** Values where transcendental approximations tend to go wrong. */
export const SPECIAL_VALUES = [
  0,
  -0,
  1e-30,
  -1e-30,
  1e-40,
  -1e-40,
  0.5,
  -0.5,
  3.9,
  -4.1,
  9.5,
  -9.5,
  20,
  -20,
  87,
  88.8,
  89,
  -87,
  -103,
  -104,
  1e30,
  -1e30,
  Infinity,
  -Infinity,
  NaN,
];

/**
 * TF.js's gradients of these do not sum over broadcast axes (SquaredDifference, Maximum and
 * Minimum: no getReductionAxes; BatchMatMul: no reduction of broadcast batch dims), so the cpu
 * backend itself throws on broadcast inputs: their broadcast cases compare the forward op only.
 */
const GRADIENT_IGNORES_BROADCAST = new Set(['SquaredDifference', 'Maximum', 'Minimum', 'BatchMatMul']);

const BINARY_OPS: Record<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  Add: tf.add,
  Sub: tf.sub,
  Multiply: tf.mul,
  RealDiv: tf.div,
  SquaredDifference: tf.squaredDifference,
  Maximum: tf.maximum,
  Minimum: tf.minimum,
};

function binaryCases(name: string, op: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): KernelCase[] {
  const right = name === 'RealDiv' ? nonzero : normal; // a divisor near 0 makes the gradient meaningless
  const shapes: Array<[string, number[], number[], boolean?]> = [
    ['same odd shape', [3, 5, 7], [3, 5, 7]],
    ['row broadcast', [4, 1, 5], [3, 1]],
    ['both sides broadcast', [6, 1, 7], [1, 5, 1]],
    ['rank-0 right operand', [7], []],
    ['rank-0 left operand', [], [2, 3]],
    ['1-element dims everywhere', [1, 1, 1], [1, 1]],
    ['broadcast inside, rank 4 by 3', [2, 3, 1, 4], [3, 5, 1]],
    ['empty dimension', [2, 0, 3], [3]],
    [
      "rank 9 that no axes merge away (beyond the addon's rank 8)",
      [2, 1, 2, 1, 2, 1, 2, 1, 2],
      [1, 2, 1, 2, 1, 2, 1, 2, 1],
    ],
    ['threaded, both broadcast', [33, 1, 517], [1, 7, 517], true],
    ['threaded, column broadcast of a long row', [3, 40001], [3, 1], true],
  ];
  return shapes.map(([label, a, b, threaded]) => ({
    label: `${label} ${JSON.stringify(a)}·${JSON.stringify(b)}`,
    inputs: [normal(...a), right(...b)],
    op: ([x, y]) => op(x!, y!),
    threaded,
    native: a.length <= 8,
    gradient: !GRADIENT_IGNORES_BROADCAST.has(name) || a.join() === b.join(),
  }));
}

const UNARY_OPS: Record<string, [(x: tf.Tensor) => tf.Tensor, (...shape: number[]) => InputSpec]> = {
  Exp: [tf.exp, normal],
  Erf: [tf.erf, normal],
  Sqrt: [tf.sqrt, positive],
  Rsqrt: [tf.rsqrt, positive],
  Square: [tf.square, normal],
  Neg: [tf.neg, normal],
  Reciprocal: [tf.reciprocal, nonzero],
  Log: [tf.log, positive],
  Abs: [tf.abs, nonzero],
  Relu: [tf.relu, nonzero],
  Tanh: [tf.tanh, normal],
  Sigmoid: [tf.sigmoid, normal],
};

function unaryCases(op: (x: tf.Tensor) => tf.Tensor, input: (...shape: number[]) => InputSpec): KernelCase[] {
  const cases: KernelCase[] = [[], [1], [3, 5, 7], [1, 13, 1], [2, 0], [100_003]].map((shape) => ({
    label: `shape ${JSON.stringify(shape)}`,
    inputs: [input(...shape)],
    op: ([x]) => op(x!),
    threaded: shape[0] === 100_003,
  }));
  cases.push({
    label: 'special values',
    inputs: [{ shape: [SPECIAL_VALUES.length], fill: { values: SPECIAL_VALUES } }],
    op: ([x]) => op(x!),
    gradient: false,
  });
  return cases;
}

const REDUCE_OPS: Record<string, (x: tf.Tensor, axis?: number | number[], keepDims?: boolean) => tf.Tensor> = {
  Sum: tf.sum,
  Mean: tf.mean,
  Max: tf.max,
  Min: tf.min,
};

function reduceCases(op: (x: tf.Tensor, axis?: number | number[], keepDims?: boolean) => tf.Tensor): KernelCase[] {
  const cases: Array<[number[], number | number[] | undefined, boolean?, boolean?]> = [
    [[7], 0],
    [[5, 7], 1],
    [[5, 7], 0],
    [[5, 7], undefined],
    [[3, 1, 4], 1],
    [[2, 3, 4], [1, 2], true],
    [[2, 3, 5], -1, true],
    [[1], 0],
    [[], undefined],
    [
      [4, 1],
      [0, 1],
    ],
    [[2, 3, 4], [0, 2], false, false], // axes not next to each other: the cpu kernel
    [[3, 70_001], 1],
    [[5, 13_001, 7], 1],
    [[40_001, 3], 0],
  ];
  return cases.map(([shape, axis, keepDims, native]) => ({
    label: `shape ${JSON.stringify(shape)} axis ${JSON.stringify(axis)}${keepDims ? ' keepDims' : ''}`,
    inputs: [normal(...shape)],
    op: ([x]) => op(x!, axis, keepDims),
    native,
    threaded: shape.reduce((product, size) => product * size, 1) > 100_000,
  }));
}

const MATMUL_SHAPES: Array<[string, number[], number[], boolean, boolean, boolean?]> = [
  ['odd sizes', [3, 5], [5, 7], false, false],
  ['transposeA', [5, 3], [5, 7], true, false],
  ['transposeB', [3, 5], [7, 5], false, true],
  ['both transposed', [5, 3], [7, 5], true, true],
  ['k = 1', [7, 1], [1, 9], false, false],
  ['m = n = 1', [1, 17], [17, 1], false, false],
  ['1×1', [1, 1], [1, 1], false, false],
  ['broadcast batch [2,1] by [5]', [2, 1, 3, 4], [5, 4, 6], false, false],
  ['rank 2 by rank 3', [3, 4], [2, 4, 5], false, false],
  ['batch 1 by batch 3, transposed', [1, 4, 3], [3, 5, 4], true, true],
  ['batch 3, transposeB', [3, 2, 5], [3, 7, 5], false, true],
  ['threaded rows of one product', [193, 67], [67, 131], false, false, true],
  ['threaded batch, transposeA', [6, 45, 33], [6, 45, 29], true, false, true],
];

function batchMatMulCases(): KernelCase[] {
  return MATMUL_SHAPES.map(([label, a, b, transposeA, transposeB, threaded]) => ({
    label: `${label} ${JSON.stringify(a)}·${JSON.stringify(b)}`,
    inputs: [normal(...a), normal(...b)],
    op: ([x, y]) => tf.matMul(x!, y!, transposeA, transposeB),
    threaded,
    gradient: a.slice(0, -2).join() === b.slice(0, -2).join(),
    // The cpu kernel pairs batch entries as i % batchA with i % batchB, which is right only when one
    // side has batch 1 or both have the same: [2,1]·[5] gives 5 entries, not 10. Broadcast first there.
    reference: label.startsWith('broadcast batch')
      ? ([x, y]) => {
          const batch = [2, 5];
          return tf.matMul(
            tf.broadcastTo(x!, [...batch, ...a.slice(-2)]),
            tf.broadcastTo(y!, [...batch, ...b.slice(-2)]),
            transposeA,
            transposeB,
          );
        }
      : undefined,
  }));
}

function fusedMatMulCases(): KernelCase[] {
  const cases: Array<[string, number[], number[], number[] | null, boolean, boolean, string, boolean?]> = [
    ['no bias', [3, 5], [5, 7], null, false, false, 'linear'],
    ['bias [n]', [3, 5], [5, 7], [7], false, false, 'linear'],
    ['bias [1]', [4, 2], [2, 3], [1], false, false, 'linear'],
    ['bias [m, n], transposeB', [3, 5], [7, 5], [3, 7], false, true, 'linear'],
    ['batched with bias, transposeA', [2, 5, 3], [2, 5, 4], [4], true, false, 'linear'],
    ['relu: the cpu kernel', [3, 5], [5, 7], [7], false, false, 'relu', false],
    ['threaded with bias', [131, 96], [96, 257], [257], false, false, 'linear'],
  ];
  return cases.map(([label, a, b, bias, transposeA, transposeB, activation, native]) => ({
    label,
    inputs: [normal(...a), normal(...b), ...(bias ? [normal(...bias)] : [])],
    native,
    threaded: label.startsWith('threaded'),
    op: ([x, y, z]) =>
      tf.fused.matMul({ a: x!, b: y!, bias: z, transposeA, transposeB, activation: activation as tf.fused.Activation }),
  }));
}

function softmaxCases(): KernelCase[] {
  return [[3, 7], [1, 1], [2, 3, 1], [5], [4, 1, 9], [301, 257]].map((shape) => ({
    label: `shape ${JSON.stringify(shape)}`,
    inputs: [normal(...shape)],
    op: ([x]) => tf.softmax(x!),
    threaded: shape[0] === 301,
  }));
}

function transposeCases(): KernelCase[] {
  return (
    [
      [
        [3, 5, 7],
        [2, 0, 1],
      ],
      [
        [1, 4, 1, 3],
        [3, 2, 1, 0],
      ],
      [
        [2, 3],
        [1, 0],
      ],
      [
        [2, 3, 1, 4, 3],
        [4, 0, 3, 2, 1],
      ],
      [
        [4, 5],
        [0, 1],
      ],
      [
        [2, 2, 2, 2, 2, 2, 2, 2, 2],
        [8, 7, 6, 5, 4, 3, 2, 1, 0],
      ],
      [
        [67, 129, 13],
        [1, 2, 0],
      ],
    ] as Array<[number[], number[]]>
  ).map(([shape, perm]) => ({
    label: `shape ${JSON.stringify(shape)} perm ${JSON.stringify(perm)}`,
    inputs: [normal(...shape)],
    op: ([x]) => tf.transpose(x!, perm),
    threaded: shape[0] === 67,
    native: shape.length <= 8, // rank 9 with no mergeable axes: beyond the addon's rank 8
  }));
}

function sliceCases(): KernelCase[] {
  return (
    [
      [
        [3, 3, 3, 3, 3, 3, 3, 3, 3],
        [1, 0, 1, 0, 1, 0, 1, 0, 1],
        [2, 2, 2, 2, 2, 2, 2, 2, 2],
      ],
      [
        [5, 7, 3],
        [1, 0, 2],
        [3, -1, 1],
      ],
      [
        [1, 1],
        [0, 0],
        [1, 1],
      ],
      [[9], [4], [0]],
      [
        [4, 6],
        [1, 1],
        [2, 5],
      ],
      [
        [3, 5, 7],
        [0, 2, 0],
        [3, 1, 7],
      ],
      [
        [301, 517],
        [2, 3],
        [297, 511],
      ],
    ] as Array<[number[], number[], number[]]>
  ).map(([shape, begin, size]) => ({
    label: `shape ${JSON.stringify(shape)} begin ${JSON.stringify(begin)} size ${JSON.stringify(size)}`,
    inputs: [normal(...shape)],
    op: ([x]) => tf.slice(x!, begin, size),
    threaded: shape[0] === 301,
    // an empty slice copies nothing; rank 9 left after merging is beyond the addon
    native: !size.includes(0) && shape.length <= 8,
  }));
}

function splitCases(): KernelCase[] {
  return (
    [
      [[5, 7], [2, 3, -1], 1],
      [[6, 1, 3], 3, 0],
      [[4, 5, 3], [1, 0, 2], -1],
      [[2, 9], [9], 1],
      [[257, 301], [100, 201], 1],
    ] as Array<[number[], number | number[], number]>
  ).map(([shape, splits, axis]) => ({
    label: `shape ${JSON.stringify(shape)} into ${JSON.stringify(splits)} along ${axis}`,
    inputs: [normal(...shape)],
    op: ([x]) => tf.split(x!, splits, axis),
    threaded: shape[0] === 257,
    // TF.js's SplitV gradient concat()s dy, which is then one tensor, not a list
    gradient: Array.isArray(splits) ? splits.length > 1 : splits > 1,
  }));
}

function concatCases(): KernelCase[] {
  return (
    [
      [
        [
          [2, 3],
          [2, 5],
          [2, 1],
        ],
        1,
      ],
      [
        [
          [1, 4],
          [3, 4],
        ],
        0,
      ],
      [
        [
          [2, 0, 3],
          [2, 2, 3],
        ],
        1,
      ],
      [
        [
          [3, 1, 5],
          [3, 2, 5],
          [3, 1, 5],
        ],
        -2,
      ],
      [[[7], [1]], 0],
      [
        [
          [301, 200],
          [301, 317],
        ],
        1,
      ],
    ] as Array<[number[][], number]>
  ).map(([shapes, axis]) => ({
    label: `${JSON.stringify(shapes)} along ${axis}`,
    inputs: shapes.map((shape) => normal(...shape)),
    op: (xs) => tf.concat(xs, axis),
    threaded: shapes[0]![0] === 301,
  }));
}

function padCases(): KernelCase[] {
  return (
    [
      [
        [2, 2, 2, 2, 2, 2, 2, 2, 2],
        [
          [0, 1],
          [1, 0],
          [0, 1],
          [1, 0],
          [0, 1],
          [1, 0],
          [0, 1],
          [1, 0],
          [0, 1],
        ],
        3,
      ],
      [
        [3, 5],
        [
          [1, 2],
          [0, 3],
        ],
        0,
      ],
      [
        [2, 1, 3],
        [
          [0, 0],
          [2, 1],
          [1, 0],
        ],
        0.5,
      ],
      [[1], [[3, 0]], -2],
      [
        [2, 0],
        [
          [1, 1],
          [1, 1],
        ],
        7,
      ],
      [
        [257, 301],
        [
          [3, 4],
          [5, 2],
        ],
        1,
      ],
    ] as Array<[number[], Array<[number, number]>, number]>
  ).map(([shape, paddings, value]) => ({
    label: `shape ${JSON.stringify(shape)} paddings ${JSON.stringify(paddings)} value ${value}`,
    inputs: [normal(...shape)],
    op: ([x]) => tf.pad(x!, paddings, value),
    threaded: shape[0] === 257,
    native: !shape.includes(0) && shape.length <= 8, // an empty input: only the fill; rank 9 is beyond the addon
  }));
}

function gatherCases(): KernelCase[] {
  // The threaded case gathers 251 rows of 517 (4 tasks of the addon's 32k-float grain) from only
  // 20: the cpu gradient (UnsortedSegmentSum) costs rows × output, and 300 rows took 60 s of the
  // 60 s timeout on a loaded 2-core machine.
  return (
    [
      [[7, 3], [5], 0, 0],
      [[4, 9, 2], [2, 3], 1, 0],
      [[3, 5], [1], -1, 0],
      [[6], [6], 0, 0],
      [[2, 5, 3], [2, 4], 1, 1],
      [[20, 517], [251], 0, 0],
    ] as Array<[number[], number[], number, number]>
  ).map(([shape, indexShape, axis, batchDims]) => ({
    label:
      `shape ${JSON.stringify(shape)} indices ${JSON.stringify(indexShape)} ` +
      `axis ${axis}${batchDims ? ` batchDims ${batchDims}: the cpu kernel` : ''}`,
    inputs: [normal(...shape), indices(shape.at(axis)!, ...indexShape)],
    native: batchDims === 0,
    // TF.js's gradient with batchDims calls x.split, a chained op tfjs-core alone does not install
    gradient: batchDims === 0,
    op: ([x, i]) => tf.gather(x!, i!, axis, batchDims),
    threaded: indexShape[0] === 251,
  }));
}

/**
 * The fused kernels through the model's own ops (app/mae/ops.ts), which pick them on the native
 * backend and the composite ops elsewhere: so the cpu reference is the composite linear/LayerNorm/GELU.
 */
/** [B, N, heads, headDim] of qkv [B, N, 3·heads·headDim]. */
const HEAD_SHAPES: Array<[number, number, number, number, boolean?]> = [
  [2, 5, 2, 3],
  [1, 1, 1, 1],
  [3, 7, 1, 4],
  [1, 17, 3, 5],
  [4, 257, 4, 32, true],
];

function splitHeadsCases(): KernelCase[] {
  return HEAD_SHAPES.map(([batch, tokens, heads, headDim, threaded]) => ({
    label: `B ${batch}, N ${tokens}, ${heads} heads of ${headDim}`,
    inputs: [normal(batch, tokens, 3 * heads * headDim)],
    threaded,
    op: ([qkv]) => splitHeads(qkv!, heads),
  }));
}

/** The gradient kernel on its own: the op is the vector-Jacobian product of the split. */
function mergeHeadsCases(): KernelCase[] {
  return HEAD_SHAPES.map(([batch, tokens, heads, headDim, threaded]) => ({
    label: `B ${batch}, N ${tokens}, ${heads} heads of ${headDim}`,
    threaded,
    gradient: false,
    inputs: [
      normal(batch, tokens, 3 * heads * headDim),
      normal(batch, heads, tokens, headDim),
      normal(batch, heads, tokens, headDim),
      normal(batch, heads, tokens, headDim),
    ],
    op: ([qkv, dq, dk, dv]) => {
      // [3·B·heads·N·headDim]
      const f = (x: tf.Tensor): tf.Tensor => tf.concat(splitHeads(x, heads).map((t) => tf.reshape(t, [-1])));
      return tf.grads(f)([qkv!], tf.concat([dq!, dk!, dv!].map((t) => tf.reshape(t, [-1]))));
    },
  }));
}

const SOFTMAX_SHAPES = [[3, 7], [1, 1], [2, 3, 1], [5], [4, 1, 9], [301, 257]];

function fusedSoftmaxCases(): KernelCase[] {
  return SOFTMAX_SHAPES.map((shape) => ({
    label: `shape ${JSON.stringify(shape)}`,
    inputs: [normal(...shape)],
    op: ([x]) => softmax(x!),
    threaded: shape[0] === 301,
  }));
}

/** The gradient kernel on its own: the op is the vector-Jacobian product of softmax. */
function softmaxGradCases(): KernelCase[] {
  return SOFTMAX_SHAPES.map((shape) => ({
    label: `shape ${JSON.stringify(shape)}`,
    inputs: [normal(...shape), normal(...shape)],
    threaded: shape[0] === 301,
    gradient: false,
    op: ([x, dy]) => tf.grads((logits: tf.Tensor) => softmax(logits))([x!], dy),
  }));
}

const LINEAR_SHAPES: Array<[number[], number, boolean?]> = [
  [[3, 5], 7],
  [[2, 3, 4], 6],
  [[1, 1], 1],
  [[5], 3],
  [[4, 1, 2, 3], 1],
  [[0, 4], 3],
  [[131, 96], 257, true],
];

function linearCases(): KernelCase[] {
  return LINEAR_SHAPES.map(([shape, outDim, threaded]) => ({
    label: `x ${JSON.stringify(shape)}, ${outDim} out`,
    inputs: [normal(...shape), normal(shape.at(-1)!, outDim), normal(outDim)],
    op: ([x, w, b]) => linear(x!, w!, b!),
    threaded,
  }));
}

/** The gradient kernel on its own: the op is the vector-Jacobian product of linear. */
function linearGradCases(): KernelCase[] {
  return LINEAR_SHAPES.filter(([shape]) => !shape.includes(0)).map(([shape, outDim, threaded]) => ({
    label: `x ${JSON.stringify(shape)}, ${outDim} out`,
    gradient: false,
    threaded,
    inputs: [normal(...shape), normal(shape.at(-1)!, outDim), normal(outDim), normal(...shape.slice(0, -1), outDim)],
    op: ([x, w, b, dy]) => tf.grads((...args: tf.Tensor[]) => linear(args[0]!, args[1]!, args[2]!))([x!, w!, b!], dy),
  }));
}

function layerNormCases(): KernelCase[] {
  // Rows of 1 or 2 values normalise to 0 or ±1 exactly: their dx is rounding noise on either backend.
  const shapes: Array<[number[], boolean?]> = [
    [[3, 5, 7]],
    [[13]],
    [[1, 1]],
    [[4, 1, 3]],
    [[2, 3, 1, 5]],
    [[0, 6]],
    [[257, 301], true],
  ];
  return shapes.map(([shape, threaded]) => ({
    label: `x ${JSON.stringify(shape)}`,
    inputs: [normal(...shape), normal(shape.at(-1)!), normal(shape.at(-1)!)],
    op: ([x, w, b]) => layerNorm(x!, w!, b!),
    threaded,
  }));
}

/** The gradient kernel on its own: the op is the vector-Jacobian product of LayerNorm. */
function layerNormGradCases(): KernelCase[] {
  return ([[[3, 5, 7]], [[1, 9]], [[6, 1]], [[257, 301], true]] as Array<[number[], boolean?]>).map(
    ([shape, threaded]) => ({
      label: `x ${JSON.stringify(shape)}`,
      inputs: [normal(...shape), normal(shape.at(-1)!), normal(shape.at(-1)!), normal(...shape)],
      threaded,
      gradient: false,
      op: ([x, w, b, dy]) =>
        tf.grads((...args: tf.Tensor[]) => layerNorm(args[0]!, args[1]!, args[2]!))([x!, w!, b!], dy),
    }),
  );
}

function geluCases(): KernelCase[] {
  const cases: KernelCase[] = [[], [1], [3, 5, 7], [1, 13, 1], [2, 0], [100_003]].map((shape) => ({
    label: `shape ${JSON.stringify(shape)}`,
    inputs: [normal(...shape)],
    op: ([x]) => gelu(x!),
    threaded: shape[0] === 100_003,
  }));
  cases.push({
    label: 'special values',
    inputs: [{ shape: [SPECIAL_VALUES.length], fill: { values: SPECIAL_VALUES } }],
    op: ([x]) => gelu(x!),
    gradient: false,
  });
  return cases;
}

function geluGradCases(): KernelCase[] {
  return [[3, 5, 7], [1], [100_003]].map((shape) => ({
    label: `shape ${JSON.stringify(shape)}`,
    inputs: [normal(...shape), normal(...shape)],
    threaded: shape[0] === 100_003,
    gradient: false,
    op: ([x, dy]) => tf.grads((input: tf.Tensor) => gelu(input))([x!], dy),
  }));
}

/** Cases for every kernel the native backend replaces or adds (but AdamW, tested on its own), by kernel name. */
export function kernelCases(): Map<string, KernelCase[]> {
  const cases = new Map<string, KernelCase[]>();
  for (const [name, op] of Object.entries(BINARY_OPS)) cases.set(name, binaryCases(name, op));
  for (const [name, [op, input]] of Object.entries(UNARY_OPS)) cases.set(name, unaryCases(op, input));
  for (const [name, op] of Object.entries(REDUCE_OPS)) cases.set(name, reduceCases(op));
  cases.set('BatchMatMul', batchMatMulCases());
  cases.set('_FusedMatMul', fusedMatMulCases());
  cases.set('Softmax', softmaxCases());
  cases.set('Transpose', transposeCases());
  cases.set('Slice', sliceCases());
  cases.set('SplitV', splitCases());
  cases.set('Concat', concatCases());
  cases.set('PadV2', padCases());
  cases.set('GatherV2', gatherCases());
  cases.set(SPLIT_HEADS_KERNEL, splitHeadsCases());
  cases.set(MERGE_HEADS_KERNEL, mergeHeadsCases());
  cases.set(SOFTMAX_KERNEL, fusedSoftmaxCases());
  cases.set(SOFTMAX_GRAD_KERNEL, softmaxGradCases());
  cases.set(LINEAR_KERNEL, linearCases());
  cases.set(LINEAR_GRAD_KERNEL, linearGradCases());
  cases.set(LAYER_NORM_KERNEL, layerNormCases());
  cases.set(LAYER_NORM_GRAD_KERNEL, layerNormGradCases());
  cases.set(GELU_KERNEL, geluCases());
  cases.set(GELU_GRAD_KERNEL, geluGradCases());
  return cases;
}
