/**
 * PyTorch checkpoints (`torch.save`, format of PyTorch ≥ 1.6: a zip of `data.pkl` plus one
 * member per storage) read safely: the pickle is interpreted by `readPickle`, which runs no
 * code; only tensors and plain containers come out. The official MAE checkpoints hold
 * `{"model": state_dict, ...}` (plus an `argparse.Namespace` of the training arguments, which
 * stays an inert record).
 */
import type { NamedTensor } from './safetensors';
import { DTYPE_BYTES, toFloat32, type FloatDtype } from './dtypes';
import { PickleGlobal, PickleObject, readPickle } from './pickle';
import { ZipReader } from './zip';

/** A tensor as the pickle describes it; its values are read only when asked for. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** A storage (`<archive>/data/<key>`) of one element type. */
interface StorageRef {
  key: string;
  /** Float type, or the storage class name for types we do not read (Long, Bool, ...). */
  dtype: FloatDtype | string;
}

const STORAGE_DTYPES: Record<string, FloatDtype> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
};

/** Safe calls: what PyTorch's own unpickler would construct for these, built as data. */
function evaluate(callable: PickleGlobal, args: unknown[]): unknown {
  switch (callable.qualifiedName) {
    case 'collections.OrderedDict':
      return new Map(Array.isArray(args[0]) ? (args[0] as [unknown, unknown][]) : []);
    case 'torch._utils._rebuild_tensor_v2':
    case 'torch._utils._rebuild_tensor': {
      const [storage, offset, shape, stride] = args as [StorageRef, number, number[], number[]];
      return new TensorRef(storage, offset, shape, stride);
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      return args[0];
    case '_codecs.encode':
      return new TextEncoder().encode(String(args[0]));
    case 'builtins.set':
    case '__builtin__.set':
      return new Set(Array.isArray(args[0]) ? args[0] : []);
    default:
      return undefined; // inert: kept as a PickleObject, never called
  }
}

function persistentLoad(id: unknown): StorageRef {
  if (!Array.isArray(id) || id[0] !== 'storage') throw new Error(`unexpected persistent id ${JSON.stringify(id)}`);
  const type = id[1] instanceof PickleGlobal ? id[1].name : String(id[1]);
  return { key: String(id[2]), dtype: STORAGE_DTYPES[type] ?? type };
}

/** A read PyTorch checkpoint: the top-level object and access to tensor values. */
export interface TorchCheckpoint {
  top: unknown;
  /** Values of a tensor as float32 in row-major order; throws for non-float tensors. */
  values(tensor: TensorRef): Float32Array;
  close(): void;
}

/** Opens a `.pth` / `.pt` file; throws naming the file and what is wrong with it. */
export function openTorchCheckpoint(path: string): TorchCheckpoint {
  let zip: ZipReader;
  try {
    zip = ZipReader.open(path);
  } catch (error) {
    throw new Error(
      `${path} is not a PyTorch checkpoint in the zip format of PyTorch ≥ 1.6 ` +
        `(re-save it with torch.save in a recent PyTorch): ${(error as Error).message}`,
    );
  }
  try {
    const pickleName = [...zip.entries.keys()].find((name) => /^[^/]+\/data\.pkl$/.test(name));
    if (!pickleName) throw new Error(`${path} is a zip but holds no <name>/data.pkl: not a PyTorch checkpoint`);
    const prefix = pickleName.slice(0, -'data.pkl'.length);
    const top = readPickle(zip.readEntry(pickleName), { persistentLoad, call: evaluate });
    const storages = new Map<string, Buffer>();
    return {
      top,
      values(tensor) {
        const { dtype, key } = tensor.storage;
        if (!(dtype in DTYPE_BYTES)) throw new Error(`tensor in storage ${key} has type ${dtype}, not a float type`);
        let bytes = storages.get(key);
        if (!bytes) {
          bytes = zip.readEntry(`${prefix}data/${key}`);
          storages.set(key, bytes);
        }
        const count = tensor.shape.reduce((a, b) => a * b, 1);
        const contiguous = tensor.stride.every(
          (s, i) => s === tensor.shape.slice(i + 1).reduce((a, b) => a * b, 1) || tensor.shape[i] === 1,
        );
        const size = DTYPE_BYTES[dtype as FloatDtype];
        if (contiguous) return toFloat32(bytes, dtype as FloatDtype, tensor.offset * size, count);
        // Strided view: read the storage, then gather element by element.
        const maxIndex = tensor.offset + tensor.shape.reduce((sum, dim, i) => sum + (dim - 1) * tensor.stride[i]!, 0);
        const all = toFloat32(bytes, dtype as FloatDtype, 0, maxIndex + 1);
        const out = new Float32Array(count);
        const index = new Array<number>(tensor.shape.length).fill(0);
        for (let n = 0; n < count; n++) {
          out[n] = all[tensor.offset + index.reduce((sum, v, i) => sum + v * tensor.stride[i]!, 0)]!;
          for (let d = index.length - 1; d >= 0; d--) {
            if (++index[d]! < tensor.shape[d]!) break;
            index[d] = 0;
          }
        }
        return out;
      },
      close: () => zip.close(),
    };
  } catch (error) {
    zip.close();
    throw error;
  }
}

/**
 * The state dict inside a checkpoint: `top["model"]` (official MAE / DeiT / timm training
 * scripts), `top["state_dict"]`, or `top` itself. Float tensors are read; other entries
 * (integer buffers, nested records) are returned by name in `skipped`.
 */
export function torchStateDict(
  checkpoint: TorchCheckpoint,
  path: string,
): { tensors: Map<string, NamedTensor>; skipped: string[] } {
  const top = checkpoint.top;
  if (!(top instanceof Map)) {
    const what =
      top instanceof PickleObject
        ? `an object of ${String((top.callable as PickleGlobal)?.qualifiedName ?? 'unknown class')}`
        : typeof top;
    throw new Error(
      `${path} holds ${what}, not a state dict (a whole pickled model cannot be read safely: save model.state_dict())`,
    );
  }
  const inner = top.get('model') ?? top.get('state_dict') ?? top.get('model_state');
  const dict = inner instanceof Map ? inner : top;
  const tensors = new Map<string, NamedTensor>();
  const skipped: string[] = [];
  for (const [name, value] of dict) {
    if (value instanceof TensorRef && value.storage.dtype in DTYPE_BYTES) {
      tensors.set(String(name), { shape: [...value.shape], data: checkpoint.values(value) });
    } else skipped.push(String(name));
  }
  if (tensors.size === 0)
    throw new Error(`${path} holds no float tensors under "model", "state_dict" or at its top level`);
  return { tensors, skipped };
}
