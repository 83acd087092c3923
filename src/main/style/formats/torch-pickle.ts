import { AppError } from '../../../shared/errors';

/**
 * A restricted reader for the pickle inside a `torch.save` zip. It interprets only the opcodes that a dict of
 * tensors needs and resolves only these globals, each to a plain data builder written here:
 *   torch._utils._rebuild_tensor_v2, torch.{BFloat16,Half,Float,Double}Storage, collections.OrderedDict.
 * Any other global (os.system, builtins.eval, …) or any object-building opcode (INST, OBJ, NEWOBJ, BUILD, …)
 * is refused with the offending name. Nothing is ever imported, called or executed.
 */

export type StorageDtype = 'bfloat16' | 'float16' | 'float32' | 'float64';

const STORAGE_TYPES: Record<string, StorageDtype> = {
  BFloat16Storage: 'bfloat16',
  HalfStorage: 'float16',
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
};

export interface StorageRef {
  kind: 'storage';
  dtype: StorageDtype;
  key: string;
  location: string;
  numel: number;
}

export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

export type PickleValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | PickleTuple
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | StorageRef
  | TensorRef
  | AllowedGlobal;

/** Tuples are kept apart from lists so argument shapes can be checked. */
export class PickleTuple {
  constructor(readonly items: PickleValue[]) {}
}

type AllowedGlobal =
  | { kind: 'global'; name: 'rebuild_tensor_v2' }
  | { kind: 'global'; name: 'ordered_dict' }
  | { kind: 'global'; name: 'storage_type'; dtype: StorageDtype };

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

export const PICKLE_REFUSED = 'style.pickle_refused';

function refuse(source: string, message: string, details?: unknown): never {
  throw new AppError(PICKLE_REFUSED, `${source}: ${message}; only dictionaries of tensors are accepted, nothing is executed`, details);
}

function malformed(source: string, message: string): never {
  throw new AppError('style.embedding_file_invalid', `${source}: malformed pickle (${message})`);
}

function resolveGlobal(module: string, name: string, source: string): AllowedGlobal {
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') return { kind: 'global', name: 'rebuild_tensor_v2' };
  if (module === 'collections' && name === 'OrderedDict') return { kind: 'global', name: 'ordered_dict' };
  if (module === 'torch' && name in STORAGE_TYPES) return { kind: 'global', name: 'storage_type', dtype: STORAGE_TYPES[name] };
  return refuse(source, `the pickle references the global ${module}.${name}`, { global: `${module}.${name}` });
}

function isInt(v: StackItem): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function intTuple(v: StackItem, what: string, source: string): number[] {
  if (!(v instanceof PickleTuple) || !v.items.every((x) => isInt(x) && (x as number) >= 0)) {
    malformed(source, `${what} is not a tuple of non-negative integers`);
  }
  return (v as PickleTuple).items as number[];
}

function persistentLoad(pid: StackItem, source: string): StorageRef {
  // torch.save writes ('storage', <StorageType>, key, location, numel); the legacy (pre-zip) format adds a sixth
  // item, the view metadata, None for whole storages.
  const legacyView = pid instanceof PickleTuple && pid.items.length === 6 && pid.items[5] === null;
  if (!(pid instanceof PickleTuple) || (pid.items.length !== 5 && !legacyView) || pid.items[0] !== 'storage') {
    refuse(source, 'a persistent id is not a torch storage reference');
  }
  const [, type, key, location, numel] = (pid as PickleTuple).items;
  const t = type as AllowedGlobal | null;
  if (!t || typeof t !== 'object' || (t as { kind?: string }).kind !== 'global' || (t as AllowedGlobal).name !== 'storage_type') {
    refuse(source, 'a storage reference does not name a tensor storage type');
  }
  if (typeof key !== 'string' || !/^[A-Za-z0-9_]+$/.test(key)) malformed(source, `storage key ${String(key)} is not a plain name`);
  if (typeof location !== 'string' || !isInt(numel as number)) malformed(source, 'storage location/size have the wrong types');
  return { kind: 'storage', dtype: (t as { dtype: StorageDtype }).dtype, key, location, numel: numel as number };
}

function callAllowed(fn: StackItem, args: StackItem, source: string): PickleValue {
  const g = fn as AllowedGlobal;
  if (!g || typeof g !== 'object' || (g as { kind?: string }).kind !== 'global') {
    refuse(source, 'REDUCE applied to something that is not an allowed global');
  }
  if (!(args instanceof PickleTuple)) malformed(source, 'REDUCE arguments are not a tuple');
  const a = (args as PickleTuple).items;
  if (g.name === 'ordered_dict') {
    if (a.length === 0) return new Map();
    // Python 2 era saves build the dict from a list of [key, value] pairs.
    const pairs = a[0];
    if (a.length !== 1 || !Array.isArray(pairs)) refuse(source, 'collections.OrderedDict is called with arguments other than a list of pairs');
    const dict = new Map<PickleValue, PickleValue>();
    for (const pair of pairs as PickleValue[]) {
      const kv = pair instanceof PickleTuple ? pair.items : pair;
      if (!Array.isArray(kv) || kv.length !== 2) malformed(source, 'an OrderedDict item is not a [key, value] pair');
      dict.set((kv as PickleValue[])[0], (kv as PickleValue[])[1]);
    }
    return dict;
  }
  if (g.name === 'rebuild_tensor_v2') {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (a.length < 6 || a.length > 7) malformed(source, `_rebuild_tensor_v2 got ${a.length} arguments`);
    const storage = a[0] as StorageRef;
    if (!storage || (storage as { kind?: string }).kind !== 'storage') malformed(source, '_rebuild_tensor_v2 needs a storage');
    if (!isInt(a[1]) || (a[1] as number) < 0) malformed(source, 'tensor storage offset is not a non-negative integer');
    const shape = intTuple(a[2], 'tensor size', source);
    const stride = intTuple(a[3], 'tensor stride', source);
    if (shape.length !== stride.length) malformed(source, 'tensor size and stride differ in length');
    const hooks = a[5];
    // An empty OrderedDict, or None in saves from torch 0.4.
    if (hooks !== null && (!(hooks instanceof Map) || hooks.size !== 0)) refuse(source, 'a tensor carries backward hooks');
    return { kind: 'tensor', storage, offset: a[1] as number, shape, stride };
  }
  return refuse(source, 'a storage type is called as a function');
}

/** Runs the restricted pickle machine over `bytes` and returns the unpickled value. */
export function readRestrictedPickle(bytes: Uint8Array, source = 'pickle'): PickleValue {
  return readRestrictedPickleAt(bytes, 0, source).value;
}

/**
 * One pickle starting at byte `start`; also returns the byte after its STOP (the legacy torch format writes
 * several pickles and then the raw storages back to back).
 */
export function readRestrictedPickleAt(bytes: Uint8Array, start: number, source = 'pickle'): { value: PickleValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = start;

  const need = (n: number): void => {
    if (pos + n > bytes.length) malformed(source, `truncated at byte ${pos}`);
  };
  const u8 = (): number => (need(1), bytes[pos++]);
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const text = (n: number): string => {
    need(n);
    const s = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) malformed(source, 'unterminated GLOBAL line');
    const s = new TextDecoder('latin1').decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): StackItem => {
    if (stack.length === 0) malformed(source, `stack underflow at byte ${pos}`);
    return stack.pop() as StackItem;
  };
  const popValue = (): PickleValue => {
    const v = pop();
    if (v === MARK) malformed(source, `unexpected MARK at byte ${pos}`);
    return v as PickleValue;
  };
  const popToMark = (): PickleValue[] => {
    const i = stack.lastIndexOf(MARK);
    if (i < 0) malformed(source, 'missing MARK');
    const items = stack.splice(i) as PickleValue[];
    items.shift();
    return items;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) malformed(source, `no value on the stack at byte ${pos}`);
    return v as PickleValue;
  };
  const dictAt = (v: StackItem): Map<PickleValue, PickleValue> => {
    if (!(v instanceof Map)) malformed(source, 'SETITEM target is not a dict');
    return v as Map<PickleValue, PickleValue>;
  };
  const listAt = (v: StackItem): PickleValue[] => {
    if (!Array.isArray(v)) malformed(source, 'APPEND target is not a list');
    return v as PickleValue[];
  };
  const put = (idx: number): void => void memo.set(idx, top());
  const get = (idx: number): void => {
    if (!memo.has(idx)) malformed(source, `memo ${idx} is not set`);
    stack.push(memo.get(idx) as PickleValue);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        need(8);
        pos += 8;
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) malformed(source, `STOP with ${stack.length} stack items`);
        return { value: popValue(), end: pos };
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PickleTuple([]));
        break;
      case 0x74: // TUPLE
        stack.push(new PickleTuple(popToMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PickleTuple([popValue()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = popValue();
        stack.push(new PickleTuple([popValue(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = popValue();
        const b = popValue();
        stack.push(new PickleTuple([popValue(), b, c]));
        break;
      }
      case 0x71: // BINPUT
        put(u8());
        break;
      case 0x72: // LONG_BINPUT
        put(u32());
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        get(u8());
        break;
      case 0x6a: // LONG_BINGET
        get(u32());
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x62: {
        // BUILD: only the state dict's `_metadata` attribute (module versions) set on an OrderedDict; dropped.
        const state = popValue();
        const onlyMetadata = state instanceof Map && state.size === 1 && state.has('_metadata');
        if (!(top() instanceof Map) || !onlyMetadata) {
          refuse(source, `the pickle uses opcode BUILD at byte ${at} for something other than a state dict's _metadata`, { opcode: op, offset: at });
        }
        break;
      }
      case 0x55: // SHORT_BINSTRING (Python 2 str, as the legacy torch format writes keys)
        stack.push(text(u8()));
        break;
      case 0x54: // BINSTRING
        stack.push(text(u32()));
        break;
      case 0x43: {
        // SHORT_BINBYTES
        const n = u8();
        need(n);
        stack.push(bytes.slice(pos, pos + n));
        pos += n;
        break;
      }
      case 0x42: {
        // BINBYTES
        const n = u32();
        need(n);
        stack.push(bytes.slice(pos, pos + n));
        pos += n;
        break;
      }
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = u8();
        if (n > 7) malformed(source, `integer of ${n} bytes is too large`);
        need(n);
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[pos + i];
        if (n > 0 && bytes[pos + n - 1] & 0x80) v -= 2 ** (8 * n);
        pos += n;
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name, source));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = popValue();
        const module = popValue();
        if (typeof module !== 'string' || typeof name !== 'string') malformed(source, 'STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, name as string, source));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(popValue(), source));
        break;
      case 0x52: {
        // REDUCE
        const args = popValue();
        const fn = popValue();
        stack.push(callAllowed(fn, args, source));
        break;
      }
      case 0x73: {
        // SETITEM
        const value = popValue();
        const key = popValue();
        dictAt(top()).set(key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popToMark();
        if (items.length % 2) malformed(source, 'SETITEMS with an odd number of items');
        const dict = dictAt(top());
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        break;
      }
      case 0x61: {
        // APPEND
        const value = popValue();
        listAt(top()).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popToMark();
        listAt(top()).push(...items);
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        refuse(
          source,
          `the pickle uses opcode ${name ?? `0x${op.toString(16)}`} at byte ${at}, which a tensor dictionary does not need`,
          { opcode: op, offset: at },
        );
      }
    }
  }
}

/** Names of opcodes we refuse, for readable errors. */
const OPCODE_NAMES: Record<number, string> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x62: 'BUILD',
  0x50: 'PERSID',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4c: 'LONG',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x64: 'DICT',
  0x6c: 'LIST',
  0x67: 'GET',
  0x70: 'PUT',
  0x8b: 'LONG4',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};
