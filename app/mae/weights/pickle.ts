/**
 * A pickle reader that never runs code. PyTorch checkpoints (`torch.save`) are pickles, and
 * Python's own unpickler imports and calls whatever a file names — so a downloaded `.pth` can
 * execute anything. This reader interprets the opcodes as data only: a global is a name, a call
 * of a known-safe constructor (OrderedDict, tensor rebuilds, `_codecs.encode`) is evaluated by
 * our own code, and any other call or object becomes an inert `PickleObject` record. Nothing is
 * imported, nothing is executed, and unknown opcodes stop the read with the byte offset.
 */

/** A global reference (`module.name`), never resolved to anything executable. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object the file asked to construct with a callable we do not evaluate (kept as data). */
export class PickleObject {
  /** State given by BUILD (`__setstate__` / `__dict__`), if any. */
  state: unknown = undefined;
  constructor(
    readonly callable: PickleGlobal | unknown,
    readonly args: unknown[],
  ) {}
}

/** Hooks the caller supplies: how to turn persistent ids and known calls into values. */
export interface PickleHooks {
  persistentLoad(id: unknown): unknown;
  /** Evaluates a call of `callable` (a global) with `args`; return `undefined` to keep it inert. */
  call(callable: PickleGlobal, args: unknown[]): unknown;
}

/** Error naming the offset of the offending opcode. */
export class PickleError extends Error {}

/** Plain containers the reader builds: dicts keep insertion order and non-string keys. */
export type PickleDict = Map<unknown, unknown>;

/** Reads one pickle (protocols 0–5) from `bytes` and returns the top value. */
export function readPickle(bytes: Uint8Array, hooks: PickleHooks): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;
  const need = (count: number): void => {
    if (at + count > bytes.length) throw new PickleError(`pickle is truncated at byte ${at} (needs ${count} more)`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[at++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(at, true);
    at += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(at, true);
    at += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(at, true);
    at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError(`pickle length ${v} at byte ${at - 8} is too large`);
    return Number(v);
  };
  const take = (count: number): Uint8Array => {
    need(count);
    const out = bytes.subarray(at, at + count);
    at += count;
    return out;
  };
  const text = (count: number): string => new TextDecoder().decode(take(count));
  const line = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) throw new PickleError(`pickle line at byte ${at} has no end`);
    const value = new TextDecoder('latin1').decode(bytes.subarray(at, end));
    at = end + 1;
    return value;
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new PickleError(`pickle stack underflow at byte ${at}`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new PickleError(`pickle stack underflow at byte ${at}`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) throw new PickleError(`pickle has no MARK before byte ${at}`);
    return stack.splice(mark);
  };
  const longFromBytes = (raw: Uint8Array): number => {
    if (raw.length === 0) return 0;
    let value = 0n;
    for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
    if (raw[raw.length - 1]! & 0x80) value -= 1n << BigInt(8 * raw.length);
    return Number(value);
  };
  const call = (callable: unknown, args: unknown[]): unknown => {
    if (callable instanceof PickleGlobal) {
      const value = hooks.call(callable, args);
      if (value !== undefined) return value;
    }
    return new PickleObject(callable, args);
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) throw new PickleError(`pickle sets items on a non-dict at byte ${at}`);
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  };

  for (;;) {
    const offset = at;
    const op = u8();
    switch (op) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        u64();
        break; // FRAME: frames are only a read-ahead hint
      case 0x2e: {
        // STOP
        const value = pop();
        return value;
      }
      case 0x28:
        marks.push(stack.length);
        break; // MARK
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        stack.push(top());
        break; // DUP
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4a:
        stack.push(i32());
        break; // BININT
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x8a:
        stack.push(longFromBytes(take(u8())));
        break; // LONG1
      case 0x8b:
        stack.push(longFromBytes(take(u32())));
        break; // LONG4
      case 0x49: {
        // INT (text): also encodes booleans as 00 / 01
        const value = line();
        stack.push(value === '00' ? false : value === '01' ? true : Number.parseInt(value, 10));
        break;
      }
      case 0x4c:
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break; // LONG (text)
      case 0x47: {
        need(8);
        stack.push(view.getFloat64(at, false));
        at += 8;
        break;
      } // BINFLOAT (big-endian)
      case 0x46:
        stack.push(Number.parseFloat(line()));
        break; // FLOAT (text)
      case 0x58:
        stack.push(text(u32()));
        break; // BINUNICODE
      case 0x8c:
        stack.push(text(u8()));
        break; // SHORT_BINUNICODE
      case 0x8d:
        stack.push(text(u64()));
        break; // BINUNICODE8
      case 0x56:
        stack.push(line());
        break; // UNICODE (raw-unicode-escape; ASCII suffices for names)
      case 0x54:
        stack.push(new TextDecoder('latin1').decode(take(i32())));
        break; // BINSTRING
      case 0x55:
        stack.push(new TextDecoder('latin1').decode(take(u8())));
        break; // SHORT_BINSTRING
      case 0x53:
        stack.push(line().replace(/^'(.*)'$|^"(.*)"$/, '$1$2'));
        break; // STRING
      case 0x42:
        stack.push(take(u32()).slice());
        break; // BINBYTES
      case 0x43:
        stack.push(take(u8()).slice());
        break; // SHORT_BINBYTES
      case 0x8e:
        stack.push(take(u64()).slice());
        break; // BINBYTES8
      case 0x96:
        stack.push(take(u64()).slice());
        break; // BYTEARRAY8
      case 0x29:
        stack.push([]);
        break; // EMPTY_TUPLE (tuples are arrays)
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x7d:
        stack.push(new Map());
        break; // EMPTY_DICT
      case 0x8f:
        stack.push(new Set());
        break; // EMPTY_SET
      case 0x74:
        stack.push(popMark());
        break; // TUPLE
      case 0x85:
        stack.push([pop()]);
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push([a, b]);
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push([a, b, c]);
        break;
      } // TUPLE3
      case 0x6c:
        stack.push(popMark());
        break; // LIST
      case 0x61: {
        const value = pop();
        const list = top();
        if (!Array.isArray(list)) throw new PickleError(`APPEND to a non-list at byte ${offset}`);
        list.push(value);
        break;
      }
      case 0x65: {
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw new PickleError(`APPENDS to a non-list at byte ${offset}`);
        list.push(...items);
        break;
      }
      case 0x64: {
        const items = popMark();
        const dict = new Map();
        setItems(dict, items);
        stack.push(dict);
        break;
      } // DICT
      case 0x73: {
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x90: {
        const items = popMark();
        const set = top();
        if (set instanceof Set) items.forEach((i) => set.add(i));
        break;
      } // ADDITEMS
      case 0x91:
        stack.push(new Set(popMark()));
        break; // FROZENSET
      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x70:
        memo.set(Number.parseInt(line(), 10), top());
        break; // PUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x68:
      case 0x6a:
      case 0x67: {
        // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(key)) throw new PickleError(`pickle refers to memo ${key} before it is set (byte ${offset})`);
        stack.push(memo.get(key));
        break;
      }
      case 0x63: {
        const module = line();
        const name = line();
        stack.push(new PickleGlobal(module, name));
        break;
      } // GLOBAL
      case 0x93: {
        const name = pop();
        const module = pop();
        stack.push(new PickleGlobal(String(module), String(name)));
        break;
      } // STACK_GLOBAL
      case 0x52: {
        const args = pop();
        const callable = pop();
        stack.push(call(callable, Array.isArray(args) ? args : [args]));
        break;
      } // REDUCE
      case 0x81: {
        const args = pop();
        const cls = pop();
        stack.push(call(cls, Array.isArray(args) ? args : [args]));
        break;
      } // NEWOBJ
      case 0x92: {
        pop();
        const args = pop();
        const cls = pop();
        stack.push(call(cls, Array.isArray(args) ? args : [args]));
        break;
      } // NEWOBJ_EX
      case 0x6f: {
        const items = popMark();
        const [cls, ...args] = items;
        stack.push(call(cls, args));
        break;
      } // OBJ
      case 0x69: {
        const module = line();
        const name = line();
        stack.push(call(new PickleGlobal(module, name), popMark()));
        break;
      } // INST
      case 0x62: {
        // BUILD: state for the object below; inert objects keep it as data
        const state = pop();
        const target = top();
        if (target instanceof PickleObject) target.state = state;
        // A dict subclass's BUILD sets attributes (state_dict._metadata), not items: not kept.
        break;
      }
      case 0x51:
        stack.push(hooks.persistentLoad(pop()));
        break; // BINPERSID
      case 0x50:
        stack.push(hooks.persistentLoad(line()));
        break; // PERSID
      default:
        throw new PickleError(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${offset}`);
    }
  }
}
