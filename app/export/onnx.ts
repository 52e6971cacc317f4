/**
 * ONNX emitter of the export graph (graph.ts), written with the maintained `onnx-proto`
 * definitions (the protobufjs build of the official onnx.proto). Opset 13, IR version 7:
 * every op used (MatMul, Add, Sub, Mul, Reshape, Transpose, Softmax, Erf, Sqrt, Reciprocal,
 * ReduceMean, Concat, Slice, Shape, Tile) runs on onnxruntime's CPU provider. Weights are
 * graph initializers stored as raw little-endian bytes. Input `pixels` [N, C, H, W] float32.
 */
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { VERSION } from '../version';
import { buildEncoderGraph, type EncoderGraphSpec, type GraphBuilder, type Value } from './graph';

const { onnx } = onnxProto;
type NodeProto = OnnxTypes.INodeProto;
type TensorProto = OnnxTypes.ITensorProto;
type ValueInfoProto = OnnxTypes.IValueInfoProto;
type AttributeProto = OnnxTypes.IAttributeProto;
const OPSET = 13;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function bytesOf(array: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength));
}

/** Builds an ONNX GraphProto op by op. */
class OnnxBuilder implements GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  readonly #constants = new Set<string>();
  #counter = 0;

  #node(opType: string, inputs: Value[], attributes: AttributeProto[] = []): Value {
    const output = `${opType.toLowerCase()}_${this.#counter++}`;
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute: attributes });
    return output;
  }

  #ints(name: string, values: number[]): Value {
    const key = `${name}:${values.join(',')}`;
    if (!this.#constants.has(key)) {
      this.#constants.add(key);
      this.initializers.push({
        name: key,
        dataType: INT64,
        dims: [values.length],
        rawData: bytesOf(BigInt64Array.from(values.map(BigInt))),
      });
    }
    return key;
  }

  input(name: string, shape: (number | null)[]): Value {
    this.inputs.push({
      name,
      type: {
        tensorType: {
          elemType: FLOAT,
          shape: { dim: shape.map((size) => (size === null ? { dimParam: 'N' } : { dimValue: size })) },
        },
      },
    });
    return name;
  }

  constant(name: string, shape: number[], data: Float32Array): Value {
    if (!this.#constants.has(name)) {
      this.#constants.add(name);
      this.initializers.push({ name, dataType: FLOAT, dims: shape, rawData: bytesOf(data) });
    }
    return name;
  }

  matMul(a: Value, b: Value) {
    return this.#node('MatMul', [a, b]);
  }
  add(a: Value, b: Value) {
    return this.#node('Add', [a, b]);
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
    return this.#node('Transpose', [x], [{ name: 'perm', type: onnx.AttributeProto.AttributeType.INTS, ints: perm }]);
  }
  softmax(x: Value) {
    return this.#node('Softmax', [x], [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }]);
  }
  erf(x: Value) {
    return this.#node('Erf', [x]);
  }
  rsqrt(x: Value) {
    return this.#node('Reciprocal', [this.#node('Sqrt', [x])]);
  }

  reduceMean(x: Value, axes: number[], keepDims: boolean) {
    return this.#node(
      'ReduceMean',
      [x],
      [
        { name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: axes },
        { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: keepDims ? 1 : 0 },
      ],
    );
  }

  concat(values: Value[], axis: number) {
    return this.#node('Concat', values, [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis }]);
  }

  slice(x: Value, begin: number[], size: number[]) {
    const axes = begin.map((_, i) => i);
    const ends = size.map((count, i) => (count < 0 ? 2 ** 62 : begin[i]! + count)); // "to the end": any bound past it
    return this.#node('Slice', [x, this.#ints('starts', begin), this.#ints('ends', ends), this.#ints('axes', axes)]);
  }

  repeatForBatch(token: Value, like: Value) {
    const batch = this.#node('Slice', [
      this.#node('Shape', [like]),
      this.#ints('starts', [0]),
      this.#ints('ends', [1]),
      this.#ints('axes', [0]),
    ]); // [1]: N
    const repeats = this.#node(
      'Concat',
      [batch, this.#ints('ones', [1, 1])],
      [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
    ); // [N, 1, 1]
    return this.#node('Tile', [token, repeats]);
  }

  output(name: string, x: Value) {
    this.nodes.push({ opType: 'Identity', input: [x], output: [name], name: `output_${name}` });
    this.outputs.push({ name, type: { tensorType: { elemType: FLOAT } } });
  }
}

/** Serialises the encoder (and head, when given) as an ONNX model. */
export function encoderToOnnx(spec: EncoderGraphSpec, docString = ''): Uint8Array {
  const builder = new OnnxBuilder();
  buildEncoderGraph(builder, spec);
  const model = onnx.ModelProto.create({
    irVersion: 7, // the IR of opset 13
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'mae-studio',
    producerVersion: VERSION,
    docString,
    graph: {
      name: spec.head ? 'mae_vit_classifier' : 'mae_vit_encoder',
      node: builder.nodes,
      initializer: builder.initializers,
      input: builder.inputs,
      output: builder.outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
