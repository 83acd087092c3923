import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/shared/errors';
import { checkEmbeddingFitsModel, familyFromWidths, type StyleEmbedding } from '../../src/main/style/embedding';
import { bfloat16ToFloat32, float16ToFloat32, float32ToBfloat16, float32ToFloat16 } from '../../src/main/style/formats/dtypes';
import { readEmbeddingBytes, readEmbeddingFile, writeEmbeddingFile, encodeEmbedding } from '../../src/main/style/formats/index';
import { readSafetensors, writeSafetensors } from '../../src/main/style/formats/safetensors';
import { dreamframeFixtureDir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { float32Bytes, PickleWriter, pickleTensorDict, torchZip } from './support/torch-file';

const releasePt = join(dreamframeFixtureDir, 'story_0_Dramatic.pt');

function randomVector(width: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: width }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31 - 0.5) * 0.1;
  });
}

function sdxlEmbedding(): StyleEmbedding {
  return {
    vectors: [
      { rows: 1, width: 768, data: randomVector(768, 1) },
      { rows: 1, width: 1280, data: randomVector(1280, 2) },
    ],
    family: 'sdxl',
    keyword: 'dramatic',
    steps: 400,
    loss: 0.1234,
  };
}

function sd1Embedding(): StyleEmbedding {
  return { vectors: [{ rows: 1, width: 768, data: randomVector(768, 3) }], family: 'sd1', keyword: 'noir' };
}

/** Decodes little-endian bf16 bytes by hand: the 16 bits are the top half of a float32. */
function decodeBf16ByHand(bytes: Uint8Array): number[] {
  const buf = Buffer.from(bytes);
  const out: number[] = [];
  const word = Buffer.alloc(4);
  for (let i = 0; i < bytes.length; i += 2) {
    word.writeUInt32LE(buf.readUInt16LE(i) * 65536, 0);
    out.push(word.readFloatLE(0));
  }
  return out;
}

function expectRefused(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe('style.pickle_refused');
  expect((caught as AppError).message).toMatch(pattern);
}

describe('16-bit float conversions', () => {
  it('decodes known bit patterns', () => {
    expect([...float16ToFloat32(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0400, 0x0001, 0x7c00, 0x8000]))]).toEqual([
      1, -2, 65504, 2 ** -14, 2 ** -24, Infinity, -0,
    ]);
    expect([...bfloat16ToFloat32(Uint16Array.from([0x3f80, 0xc040, 0x3c23]))]).toEqual([1, -3, (1 + 35 / 128) * 2 ** -7]);
    expect(Number.isNaN(float16ToFloat32(Uint16Array.from([0x7e00]))[0])).toBe(true);
  });

  it('rounds float32 to the nearest 16-bit value, ties to even', () => {
    // 1 + 2^-11 lies halfway between float16 1 and 1 + 2^-10: ties go to the even mantissa (1).
    expect([...float32ToFloat16(Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000, 2 ** -25 * 3]))]).toEqual([
      0x3c00, 0x3c02, 0x7c00, 0x0002,
    ]);
    expect([...float32ToBfloat16(Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, -3]))]).toEqual([0x3f80, 0x3f82, 0xc040]);
  });
});

describe('safetensors container', () => {
  it('reads back what it writes, with metadata, in every float dtype', () => {
    const data = Float32Array.from([1, -2, 0.5, 3.25, -0.125, 8]);
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const bytes = writeSafetensors(new Map([['x', { shape: [2, 3], data }]]), { a: 'b' }, { dtype });
      const headerLen = Number(Buffer.from(bytes).readBigUInt64LE(0));
      expect((8 + headerLen) % 8).toBe(0);
      const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8'));
      expect(header.x).toEqual({ dtype, shape: [2, 3], data_offsets: [0, dtype === 'F32' ? 24 : 12] });
      const back = readSafetensors(bytes);
      expect(back.metadata).toEqual({ a: 'b' });
      expect([...back.tensors.get('x')!.data]).toEqual([...data]); // all exactly representable
    }
  });

  it('rejects data offsets that do not fit the shape', () => {
    const bytes = writeSafetensors(new Map([['x', { shape: [4], data: new Float32Array(4) }]]));
    const text = Buffer.from(bytes).toString('latin1').replace('"shape":[4]', '"shape":[5]');
    expect(() => readSafetensors(Buffer.from(text, 'latin1'), 'bad.safetensors')).toThrow(/bad\.safetensors: tensor "x"/);
  });
});

describe('embedding formats round-trip', () => {
  const tmp = useTempDir();

  it('ours keeps vectors, family, keyword, steps and loss (SDXL and SD 1.x)', () => {
    for (const emb of [sdxlEmbedding(), sd1Embedding()]) {
      const path = join(tmp(), 'e.safetensors');
      writeEmbeddingFile(path, emb, 'ours');
      const { embedding, layout } = readEmbeddingFile(path);
      expect(layout).toBe('ours');
      expect(embedding).toEqual(emb);
    }
  });

  it('ours keeps the family of narrow test-pipeline embeddings that widths cannot tell', () => {
    const emb: StyleEmbedding = {
      vectors: [
        { rows: 1, width: 32, data: randomVector(32, 5) },
        { rows: 1, width: 32, data: randomVector(32, 6) },
      ],
      family: 'sdxl',
      keyword: 'dramatic',
    };
    expect(readEmbeddingBytes(encodeEmbedding(emb, 'ours'), 'mem').embedding).toEqual(emb);
  });

  it('diffusers learned_embeds: {keyword: [1, D]} with format=pt metadata', () => {
    const emb = sd1Embedding();
    const bytes = encodeEmbedding(emb, 'diffusers');
    const raw = readSafetensors(bytes);
    expect(raw.metadata).toEqual({ format: 'pt' });
    expect([...raw.tensors.keys()]).toEqual(['noir']);
    expect(raw.tensors.get('noir')!.shape).toEqual([1, 768]);
    const { embedding, layout } = readEmbeddingBytes(bytes, 'mem');
    expect(layout).toBe('diffusers');
    expect(embedding).toEqual({ ...emb });
  });

  it('diffusers: older [D] tensors and SD 2.x widths are understood', () => {
    const data = randomVector(1024, 7);
    const bytes = writeSafetensors(new Map([['<art>', { shape: [1024], data }]]), { format: 'pt' });
    const { embedding } = readEmbeddingBytes(bytes, 'mem');
    expect(embedding.family).toBe('sd2');
    expect(embedding.keyword).toBe('<art>');
    expect(embedding.vectors[0]).toEqual({ rows: 1, width: 1024, data });
  });

  it('A1111/ComfyUI SDXL: clip_l [1,768] and clip_g [1,1280]', () => {
    const emb = sdxlEmbedding();
    const bytes = encodeEmbedding(emb, 'sdxl-comfy');
    const raw = readSafetensors(bytes);
    expect(raw.tensors.get('clip_l')!.shape).toEqual([1, 768]);
    expect(raw.tensors.get('clip_g')!.shape).toEqual([1, 1280]);
    expect([...raw.tensors.get('clip_g')!.data]).toEqual([...emb.vectors[1].data]);
    const { embedding, layout } = readEmbeddingBytes(bytes, 'mem', { keyword: 'dramatic' });
    expect(layout).toBe('sdxl-comfy');
    expect(embedding).toEqual({ vectors: emb.vectors, family: 'sdxl', keyword: 'dramatic' });
  });

  it('refuses formats that cannot hold the embedding', () => {
    expect(() => encodeEmbedding(sdxlEmbedding(), 'diffusers')).toThrow(/sdxl-comfy/);
    expect(() => encodeEmbedding(sd1Embedding(), 'sdxl-comfy')).toThrow(/diffusers/);
    expect(() => encodeEmbedding({ ...sd1Embedding(), keyword: null }, 'diffusers')).toThrow(/keyword/);
  });

  it('reports files of no known layout', () => {
    const bytes = writeSafetensors(new Map([
      ['a', { shape: [2], data: new Float32Array(2) }],
      ['b', { shape: [2], data: new Float32Array(2) }],
    ]));
    expect(() => readEmbeddingBytes(bytes, 'odd.safetensors')).toThrow(/odd\.safetensors: tensors a, b match no known/);
    expect(() => readEmbeddingBytes(Buffer.from('hello world, not a model'), 'x.txt')).toThrow(/neither a safetensors/);
  });
});

describe("the DreamFrame release's .pt", () => {
  it('imports to the CLIP-L [768] and bigG [1280] bf16 rows, exactly as the raw storages decode', () => {
    const bytes = readFileSync(releasePt);
    const zip = unzipSync(bytes);
    const expected0 = decodeBf16ByHand(zip['story_0_Dramatic/data/0']);
    const expected1 = decodeBf16ByHand(zip['story_0_Dramatic/data/1']);
    const { embedding, layout, container } = readEmbeddingFile(releasePt);
    expect(container).toBe('torch-zip');
    expect(layout).toBe('dreamframe-pt');
    expect(embedding.family).toBe('sdxl');
    expect(embedding.keyword).toBeNull();
    expect(embedding.vectors.map((v) => [v.rows, v.width])).toEqual([[1, 768], [1, 1280]]);
    expect([...embedding.vectors[0].data]).toEqual(expected0);
    expect([...embedding.vectors[1].data]).toEqual(expected1);
    // A learned row, not zeros: its norm is of the order of CLIP token rows.
    const norm = Math.hypot(...embedding.vectors[0].data);
    expect(norm).toBeGreaterThan(0.1);
  });

  it('converts to sdxl-comfy and back without changing a bit', () => {
    const { embedding } = readEmbeddingFile(releasePt, { keyword: 'Dramatic' });
    const back = readEmbeddingBytes(encodeEmbedding(embedding, 'sdxl-comfy'), 'mem', { keyword: 'Dramatic' }).embedding;
    expect(back).toEqual(embedding);
  });
});

describe('torch zip reader', () => {
  it('reads a strided view at a storage offset, and float16/float32 storages', () => {
    // storage 0..11; a [3,2] view starting at 1 with strides (1, 4): rows are transposed columns.
    const storage = Float32Array.from({ length: 12 }, (_, i) => i);
    const pkl = pickleTensorDict([
      { key: 'emb_params', storageType: 'FloatStorage', storageKey: '0', numel: 12, offset: 1, shape: [3, 2], stride: [1, 4] },
    ]);
    const { embedding } = readEmbeddingBytes(torchZip('archive', pkl, { '0': float32Bytes(storage) }), 'strided.pt');
    expect(embedding.keyword).toBeNull(); // kohya's emb_params names no keyword
    expect(embedding.vectors[0].rows).toBe(3);
    expect([...embedding.vectors[0].data]).toEqual([1, 5, 2, 6, 3, 7]);

    const half = Uint16Array.from([0x3c00, 0xc000]); // 1, -2
    const pklHalf = pickleTensorDict([
      { key: '<tok>', storageType: 'HalfStorage', storageKey: 'a', numel: 2, offset: 0, shape: [2], stride: [1] },
    ]);
    const loaded = readEmbeddingBytes(torchZip('x', pklHalf, { a: new Uint8Array(half.buffer) }), 'half.bin');
    expect(loaded.layout).toBe('diffusers');
    expect([...loaded.embedding.vectors[0].data]).toEqual([1, -2]);
  });

  it('reports a view that reaches past its storage', () => {
    const pkl = pickleTensorDict([
      { key: 'emb', storageType: 'FloatStorage', storageKey: '0', numel: 4, offset: 2, shape: [4], stride: [1] },
    ]);
    expect(() => readEmbeddingBytes(torchZip('a', pkl, { '0': float32Bytes([1, 2, 3, 4]) }), 'short.pt')).toThrow(/short\.pt: tensor view/);
  });

  it('refuses a pickle that references os.system, naming it, and runs nothing', () => {
    const marker = join(process.cwd(), 'should-not-exist-style-test');
    const evil = new PickleWriter()
      .op(0x80, 2)
      .global('os', 'system')
      .str(`touch ${marker}`)
      .op(0x85, 0x52, 0x2e)
      .bytes();
    expectRefused(() => readEmbeddingBytes(torchZip('evil', evil, {}), 'evil.pt'), /evil\.pt: .*os\.system/);
    expect(() => readFileSync(marker)).toThrow();
  });

  it('refuses builtins.eval reached through STACK_GLOBAL inside an otherwise normal tensor dict', () => {
    const w = new PickleWriter().op(0x80, 4, 0x7d, 0x28);
    w.str('emb').tensor({ key: 'emb', storageType: 'FloatStorage', storageKey: '0', numel: 2, offset: 0, shape: [2], stride: [1] });
    w.str('emb2').str('builtins').str('eval').op(0x93).str('1+1').op(0x85, 0x52);
    const pkl = w.op(0x75, 0x2e).bytes();
    expectRefused(() => readEmbeddingBytes(torchZip('a', pkl, { '0': float32Bytes([1, 2]) }), 'eval.pt'), /builtins\.eval/);
  });

  it('refuses object-building opcodes and storage types used as callables', () => {
    const build = new PickleWriter().op(0x80, 2, 0x7d, 0x7d, 0x62, 0x2e).bytes(); // {} BUILD
    expectRefused(() => readEmbeddingBytes(torchZip('a', build, {}), 'build.pt'), /BUILD/);
    const callStorage = new PickleWriter().op(0x80, 2).global('torch', 'FloatStorage').op(0x29, 0x52, 0x2e).bytes();
    expectRefused(() => readEmbeddingBytes(torchZip('a', callStorage, {}), 'call.pt'), /storage type is called/);
    // A global that is allowed in torch files elsewhere, but not needed for a tensor dict.
    const param = new PickleWriter().op(0x80, 2).global('torch._utils', '_rebuild_parameter').op(0x2e).bytes();
    expectRefused(() => readEmbeddingBytes(torchZip('a', param, {}), 'param.pt'), /torch\._utils\._rebuild_parameter/);
  });

  it('reports a storage missing from the zip', () => {
    const pkl = pickleTensorDict([
      { key: 'emb', storageType: 'FloatStorage', storageKey: '7', numel: 2, offset: 0, shape: [2], stride: [1] },
    ]);
    expect(() => readEmbeddingBytes(torchZip('a', pkl, {}), 'missing.pt')).toThrow(/storage data\/7 .* missing/);
  });
});

describe('model family and width checks', () => {
  it('detects the family from widths', () => {
    expect(familyFromWidths([768])).toBe('sd1');
    expect(familyFromWidths([1024])).toBe('sd2');
    expect(familyFromWidths([768, 1280])).toBe('sdxl');
    expect(familyFromWidths([32])).toBeNull();
  });

  it('names both widths when an embedding does not fit the model', () => {
    const { embedding } = readEmbeddingFile(releasePt, { keyword: 'Dramatic' });
    expect(() => checkEmbeddingFitsModel(embedding, [768, 1280], 'sdxl-base')).not.toThrow();
    expect(() => checkEmbeddingFitsModel(embedding, [768], 'sd15')).toThrow(
      /"Dramatic" has vector width 768\+1280 \(SDXL\), but the model sd15 has text-encoder width 768 \(SD 1\.x\)/,
    );
    expect(() => checkEmbeddingFitsModel(sd1Embedding(), [32, 32], 'tiny-sdxl')).toThrow(/768 \(SD 1\.x\).*32\+32/);
  });
});
