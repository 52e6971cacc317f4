/**
 * TF.js emitter of the export graph (graph.ts): a graph model (`model.json` holding a
 * TensorFlow GraphDef in JSON, plus one `weights.bin`), the format `tf.loadGraphModel` reads —
 * `tf.loadGraphModel('file://…/model.json')` with tfjs-node, an http URL in a browser, or
 * `tf.io.fromMemory(...)` anywhere. Only TF ops the converter maps are used (BatchMatMulV2,
 * AddV2, Sub, Mul, Reshape, Transpose, Softmax, Erf, Rsqrt, Mean, ConcatV2, Slice, Shape, Tile).
 */
import { VERSION } from '../version';
import { buildEncoderGraph, type EncoderGraphSpec, type GraphBuilder, type Value } from './graph';

/** One node of a GraphDef in TF's JSON form. */
interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

/** A weight entry of the manifest. */
interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** The files of a TF.js graph model. */
export interface TfjsGraphModel {
  /** Contents of `model.json`. */
  modelJson: {
    format: 'graph-model';
    generatedBy: string;
    convertedBy: string;
    modelTopology: { node: NodeDef[]; library: object; versions: object };
    weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
    signature: { inputs: Record<string, unknown>; outputs: Record<string, unknown> };
  };
  /** Contents of `weights.bin`. */
  weights: Uint8Array;
  /** For `tf.io.fromMemory`: the same topology and weights. */
  weightSpecs: WeightSpec[];
}

const dtypeAttr = (type: 'DT_FLOAT' | 'DT_INT32') => ({ type });

/** Builds a GraphDef op by op, collecting constants as weights. */
class TfjsBuilder implements GraphBuilder {
  readonly nodes: NodeDef[] = [];
  readonly weights: WeightSpec[] = [];
  readonly chunks: Uint8Array[] = [];
  readonly inputs: Record<string, unknown> = {};
  readonly outputs: Record<string, unknown> = {};
  readonly #constants = new Set<string>();
  #counter = 0;

  #node(op: string, inputs: Value[], attr: Record<string, unknown> = {}): Value {
    const name = `${op.toLowerCase()}_${this.#counter++}`;
    this.nodes.push({ name, op, input: inputs, attr: { T: dtypeAttr('DT_FLOAT'), ...attr } });
    return name;
  }

  #const(name: string, shape: number[], data: Float32Array | Int32Array): Value {
    if (this.#constants.has(name)) return name;
    this.#constants.add(name);
    const dtype = data instanceof Float32Array ? 'DT_FLOAT' : 'DT_INT32';
    this.nodes.push({
      name,
      op: 'Const',
      attr: {
        value: { tensor: { dtype, tensorShape: { dim: shape.map((size) => ({ size: String(size) })) } } },
        dtype: dtypeAttr(dtype),
      },
    });
    this.weights.push({ name, shape, dtype: dtype === 'DT_FLOAT' ? 'float32' : 'int32' });
    this.chunks.push(new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
    return name;
  }

  #ints(name: string, values: number[]): Value {
    return this.#const(`${name}/${values.join('_').replace(/-/g, 'm')}`, [values.length], Int32Array.from(values));
  }

  input(name: string, shape: (number | null)[]): Value {
    const dims = shape.map((size) => ({ size: String(size ?? -1) }));
    this.nodes.push({
      name,
      op: 'Placeholder',
      attr: { dtype: dtypeAttr('DT_FLOAT'), shape: { shape: { dim: dims } } },
    });
    this.inputs[name] = { name: `${name}:0`, dtype: 'DT_FLOAT', tensorShape: { dim: dims } };
    return name;
  }

  constant(name: string, shape: number[], data: Float32Array): Value {
    return this.#const(name, shape, data);
  }
  matMul(a: Value, b: Value) {
    return this.#node('BatchMatMulV2', [a, b], { adj_x: { b: false }, adj_y: { b: false } });
  }
  add(a: Value, b: Value) {
    return this.#node('AddV2', [a, b]);
  }
  sub(a: Value, b: Value) {
    return this.#node('Sub', [a, b]);
  }
  mul(a: Value, b: Value) {
    return this.#node('Mul', [a, b]);
  }
  reshape(x: Value, shape: number[]) {
    return this.#node('Reshape', [x, this.#ints('shape', shape)]);
  }
  transpose(x: Value, perm: number[]) {
    return this.#node('Transpose', [x, this.#ints('perm', perm)]);
  }
  softmax(x: Value) {
    return this.#node('Softmax', [x]);
  }
  erf(x: Value) {
    return this.#node('Erf', [x]);
  }
  rsqrt(x: Value) {
    return this.#node('Rsqrt', [x]);
  }
  reduceMean(x: Value, axes: number[], keepDims: boolean) {
    return this.#node('Mean', [x, this.#ints('axes', axes)], { keep_dims: { b: keepDims } });
  }
  concat(values: Value[], axis: number) {
    return this.#node('ConcatV2', [...values, this.#ints('axis', [axis])], { N: { i: String(values.length) } });
  }
  slice(x: Value, begin: number[], size: number[]) {
    return this.#node('Slice', [x, this.#ints('begin', begin), this.#ints('size', size)]);
  }

  repeatForBatch(token: Value, like: Value) {
    const shape = this.#node('Shape', [like], { out_type: dtypeAttr('DT_INT32') });
    const batch = this.#node('Slice', [shape, this.#ints('begin', [0]), this.#ints('size', [1])], {
      T: dtypeAttr('DT_INT32'),
    }); // [1]: N
    const repeats = this.#node('ConcatV2', [batch, this.#ints('ones', [1, 1]), this.#ints('axis', [0])], {
      T: dtypeAttr('DT_INT32'),
      N: { i: '2' },
    }); // [N, 1, 1]
    return this.#node('Tile', [token, repeats]);
  }

  output(name: string, x: Value) {
    this.nodes.push({ name, op: 'Identity', input: [x], attr: { T: dtypeAttr('DT_FLOAT') } });
    this.outputs[name] = { name: `${name}:0`, dtype: 'DT_FLOAT' };
  }
}

/** Builds the encoder (and head, when given) as a TF.js graph model. */
export function encoderToTfjs(spec: EncoderGraphSpec): TfjsGraphModel {
  const builder = new TfjsBuilder();
  buildEncoderGraph(builder, spec);
  const total = builder.chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const weights = new Uint8Array(total);
  let offset = 0;
  for (const chunk of builder.chunks) {
    weights.set(chunk, offset);
    offset += chunk.length;
  }
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: `mae-studio ${VERSION}`,
      convertedBy: `mae-studio ${VERSION}`,
      modelTopology: { node: builder.nodes, library: {}, versions: { producer: 1 } },
      weightsManifest: [{ paths: ['weights.bin'], weights: builder.weights }],
      signature: { inputs: builder.inputs, outputs: builder.outputs },
    },
    weights,
    weightSpecs: builder.weights,
  };
}
