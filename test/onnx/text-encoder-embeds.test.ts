import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { lookupTokenEmbeddings, prepareTextEncoderForEmbeds } from '../../src/main/onnx/text-encoder-embeds';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { readCaseJson, readCaseTensor, type CaseTensor } from './fixtures';

const cacheDir = mkdtempSync(join(tmpdir(), 'onnx-embeds-'));
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

/** Runs the original encoder on ids and the cut copy on looked-up embeddings; every output must agree. */
async function compareEncoders(modelFile: string, ids: CaseTensor, fixtureDir: string, reference?: Record<string, CaseTensor>) {
  const prepared = await prepareTextEncoderForEmbeds(modelFile, cacheDir);
  expect(prepared.inputName).toBe('inputs_embeds');
  expect(prepared.vocabSize).toBe(49408);
  expect(prepared.tokenEmbedding.length).toBe(prepared.vocabSize * prepared.width);

  const idsData = readCaseTensor(fixtureDir, ids) as Int32Array | BigInt64Array;
  const original = await ort.InferenceSession.create(modelFile);
  const idsType = idsData instanceof BigInt64Array ? 'int64' : 'int32';
  const idsTensor = new ort.Tensor(idsType, idsData, ids.shape);
  const expected = await original.run({ input_ids: idsTensor });

  const cut = await ort.InferenceSession.create(prepared.modelPath);
  expect(cut.inputNames).toContain('inputs_embeds');
  expect([...cut.outputNames].sort()).toEqual([...original.outputNames].sort());
  const embeds = lookupTokenEmbeddings(prepared.tokenEmbedding, prepared.width, Array.from(idsData as ArrayLike<number | bigint>));
  const feeds: Record<string, ort.Tensor> = { inputs_embeds: new ort.Tensor('float32', embeds, [...ids.shape, prepared.width]) };
  if (prepared.inputIdsName) feeds[prepared.inputIdsName] = idsTensor;
  const got = await cut.run(feeds);
  for (const name of original.outputNames) {
    const a = expected[name].data as Float32Array;
    const b = got[name].data as Float32Array;
    expect(b.length).toBe(a.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst, `${name} differs from the original encoder`).toBe(0);
    if (reference?.[name]) {
      const ref = readCaseTensor(fixtureDir, reference[name]) as Float32Array;
      let refErr = 0;
      for (let i = 0; i < ref.length; i++) refErr = Math.max(refErr, Math.abs(ref[i] - b[i]));
      expect(refErr, `${name} vs reference library`).toBeLessThanOrEqual(1e-4);
    }
  }
  return prepared;
}

describe('prepareTextEncoderForEmbeds', () => {
  it('tiny-sd15 text_encoder: looked-up embeddings reproduce last_hidden_state and pooler_output', async () => {
    const c = readCaseJson(tinySd15Dir, 'text_encoder.json');
    const file = join(tinySd15Dir, 'pipeline/text_encoder/model.onnx');
    const first = await compareEncoders(file, c.input_ids, tinySd15Dir, { last_hidden_state: c.last_hidden_state, pooler_output: c.pooler_output });
    expect(first.width).toBe(32);
    // Second call is served from the cache: same file, not rewritten.
    const mtime = statSync(first.modelPath).mtimeMs;
    const again = await prepareTextEncoderForEmbeds(file, cacheDir);
    expect(again.modelPath).toBe(first.modelPath);
    expect(statSync(again.modelPath).mtimeMs).toBe(mtime);
    expect(Buffer.compare(Buffer.from(again.tokenEmbedding.buffer), Buffer.from(first.tokenEmbedding.buffer))).toBe(0);
  });

  it('tiny-sdxl text_encoder and text_encoder_2 (pooled text_embeds kept, ids still feed the argmax pooling)', async () => {
    const c = readCaseJson(tinySdxlDir, 'text_encoders.json');
    await compareEncoders(join(tinySdxlDir, 'pipeline/text_encoder/model.onnx'), c.text_encoder.input_ids, tinySdxlDir, c.text_encoder.outputs);
    const p2 = await compareEncoders(join(tinySdxlDir, 'pipeline/text_encoder_2/model.onnx'), c.text_encoder_2.input_ids, tinySdxlDir, c.text_encoder_2.outputs);
    expect(p2.inputIdsName).toBe('input_ids');
  });

  it('rejects ids outside the table', () => {
    expect(() => lookupTokenEmbeddings(new Float32Array(8), 4, [0, 2])).toThrow(/token id 2/);
  });
});
