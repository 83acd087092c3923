import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { float32ToBfloat16, float32ToFloat16, uint16ToBytesLE } from '../../../src/main/style/formats/dtypes';
import { mapOpenClip } from '../../../src/main/models/source/map-text';
import { memorySource } from '../../../src/main/models/source/refs';
import { SafetensorsFile } from '../../../src/main/models/source/safetensors-file';
import { useTempDir } from '../../support/tmp';
import { writeCheckpoint } from './support/ldm-headers';

const tmp = useTempDir('model-source-reader-');

/** Values that exercise every float16/bfloat16 path: zeros of both signs, subnormals, extremes, infinities, NaN. */
const SPECIAL = Float32Array.from([0, -0, 1, -2.5, 65504, -65504, 6.1e-5, 5.96e-8, 1e-40, 3.4e38, Infinity, -Infinity, NaN, 0.1, 1 / 3, -7.25e-3]);

describe('streaming safetensors reader', () => {
  it('widens F16 and BF16 exactly as the reference conversions define, and copies F32 bit for bit', async () => {
    const path = join(tmp(), 'dtypes.safetensors');
    const bytesFor: Record<string, Uint8Array> = {
      f32: new Uint8Array(SPECIAL.buffer.slice(0)),
      f16: uint16ToBytesLE(float32ToFloat16(SPECIAL)),
      bf16: uint16ToBytesLE(float32ToBfloat16(SPECIAL)),
    };
    // One file per dtype keeps the writer simple (a file has one dtype there).
    for (const [name, dtype] of [['f32', 'F32'], ['f16', 'F16'], ['bf16', 'BF16']] as const) {
      const p = path.replace('dtypes', name);
      writeCheckpoint(p, [[name, [4, 4]]], { dtype, fill: () => bytesFor[name] });
      const file = await SafetensorsFile.open(p);
      const entry = file.entries.get(name);
      if (!entry) throw new Error('missing entry');
      const got = await file.readFloat32(entry);
      const words = name === 'f32' ? undefined : new Uint16Array(bytesFor[name].buffer.slice(0));
      for (let i = 0; i < SPECIAL.length; i++) {
        let want: number;
        if (name === 'f32') want = SPECIAL[i];
        else if (name === 'bf16') want = new Float32Array(new Uint32Array([(words as Uint16Array)[i] << 16]).buffer)[0];
        else {
          // IEEE binary16 by its definition.
          const h = (words as Uint16Array)[i];
          const e = (h >> 10) & 31;
          const m = h & 1023;
          const sign = h & 0x8000 ? -1 : 1;
          want = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
        }
        expect(Object.is(got[i], want) || (Number.isNaN(got[i]) && Number.isNaN(want)), `${name}[${i}] = ${got[i]}, want ${want}`).toBe(true);
      }
      // BF16 keeps float32's range: 3.4e38 survives, where F16 overflows to Infinity.
      if (name === 'bf16') expect(got[9]).toBeGreaterThan(3e38);
      if (name === 'f16') expect(got[9]).toBe(Infinity);
      // A row range reads only those elements.
      expect([...(await file.readFloat32(entry, 4, 4))]).toEqual([...got.subarray(4, 8)]);
      await file.close();
    }
  });

  it('reads after close fail with a clear error', async () => {
    const p = join(tmp(), 'c.safetensors');
    writeCheckpoint(p, [['x', [2]]], { dtype: 'F32' });
    const file = await SafetensorsFile.open(p);
    const entry = file.entries.get('x');
    await file.close();
    await expect(file.readFloat32(entry as NonNullable<typeof entry>)).rejects.toThrow(/already closed; cannot read "x"/);
  });
});

describe('OpenCLIP text tower mapping', () => {
  it('splits in_proj into q, k, v by rows, transposes text_projection, and drops blocks beyond num_hidden_layers', async () => {
    const d = 4;
    const seq = (n: number, base: number) => Float32Array.from({ length: n }, (_, i) => base + i);
    const keys = new Map([
      ['token_embedding.weight', memorySource('f', 'token_embedding.weight', [10, d], seq(10 * d, 0))],
      ['positional_embedding', memorySource('f', 'positional_embedding', [3, d], seq(3 * d, 100))],
      ['text_projection', memorySource('f', 'text_projection', [d, 2], seq(2 * d, 500))],
      ['logit_scale', memorySource('f', 'logit_scale', [], seq(1, 0))],
      ['ln_final.weight', memorySource('f', 'ln_final.weight', [d], seq(d, 9))],
    ]);
    for (let b = 0; b < 3; b++) {
      const p = `transformer.resblocks.${b}.`;
      keys.set(`${p}attn.in_proj_weight`, memorySource('f', `${p}attn.in_proj_weight`, [3 * d, d], seq(3 * d * d, 1000 * b)));
      keys.set(`${p}attn.in_proj_bias`, memorySource('f', `${p}attn.in_proj_bias`, [3 * d], seq(3 * d, 1000 * b + 900)));
      keys.set(`${p}mlp.c_fc.weight`, memorySource('f', `${p}mlp.c_fc.weight`, [4 * d, d], seq(4 * d * d, 0)));
    }
    const { tensors, notes } = mapOpenClip(keys, { numHiddenLayers: 2, hiddenSize: d, withProjection: true, file: 'f', prefix: 'cond_stage_model.model.' });
    expect(notes).toEqual(['cond_stage_model.model.: 2 of 3 transformer blocks used (num_hidden_layers); block(s) 2 ignored']);
    expect([...tensors.keys()].filter((k) => k.includes('layers.2.'))).toEqual([]);
    const q = await (tensors.get('text_model.encoder.layers.1.self_attn.q_proj.weight') as { read(): Promise<Float32Array> }).read();
    const k = await (tensors.get('text_model.encoder.layers.1.self_attn.k_proj.weight') as { read(): Promise<Float32Array> }).read();
    const v = await (tensors.get('text_model.encoder.layers.1.self_attn.v_proj.bias') as { read(): Promise<Float32Array> }).read();
    expect([...q]).toEqual([...seq(d * d, 1000)]);
    expect([...k]).toEqual([...seq(d * d, 1000 + d * d)]);
    expect([...v]).toEqual([...seq(d, 1900 + 2 * d)]);
    const proj = tensors.get('text_projection.weight');
    expect(proj?.shape).toEqual([2, d]);
    // stored [in=4, out=2] row-major: 500 501 / 502 503 / …; nn.Linear [out, in]: column j of the stored matrix.
    expect([...(await (proj as { read(): Promise<Float32Array> }).read())]).toEqual([500, 502, 504, 506, 501, 503, 505, 507]);
    expect(tensors.get('text_model.embeddings.position_embedding.weight')?.shape).toEqual([3, d]);
    expect(tensors.get('text_model.encoder.layers.0.mlp.fc1.weight')?.shape).toEqual([4 * d, d]);
    expect(tensors.has('logit_scale')).toBe(false);
  });
});
