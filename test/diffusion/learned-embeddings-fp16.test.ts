import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffusionPipeline } from '../../src/main/diffusion/pipeline/stable-diffusion';
import { indexGraph, makeNode, NameGen, valueInfoShape } from '../../src/main/onnx/graph';
import { loadModel } from '../../src/main/onnx/model-io';
import { DataType, type OnnxModel } from '../../src/main/onnx/types';
import { makeHalfVariant } from '../support/model-variants/dtype-variants';
import { rewriteModel } from '../support/model-variants/folders';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { f32, maxAbsDiff, readCase } from './fixture-io';

const tempDir = useTempDir('dreamframe-ti-fp16-');
const size = { width: 64, height: 64 };

/**
 * Moves the token table's widening Cast to after the Gather, as in an export that computes in fp16: the Gather
 * then reads the fp16 table and yields fp16 rows, so the encoder copy must take fp16 `inputs_embeds`.
 */
function gatherTokenTableInHalf(model: OnnxModel): void {
  const g = model.proto.graph;
  const idx = indexGraph(g);
  const gather = g.node.find((n) => n.opType === 'Gather' && idx.producer.get(n.input[0])?.opType === 'Cast' && idx.initializers.get(idx.producer.get(n.input[0])!.input[0])?.dims.length === 2);
  if (!gather) throw new Error('no Gather reading a Cast of a 2-D initializer');
  const cast = idx.producer.get(gather.input[0])!;
  const names = new NameGen(g);
  const halfRows = names.next('token_rows_fp16');
  const out = gather.output[0];
  gather.input[0] = cast.input[0];
  gather.output[0] = halfRows;
  g.node.splice(g.node.indexOf(gather) + 1, 0, makeNode('Cast', [halfRows], [out], names.next('token_rows_to_float'), { to: DataType.FLOAT }));
}

/** The element type of `inputs_embeds` in the encoder copy prepared under `cacheDir`. */
function embedsInputType(cacheDir: string): number {
  const root = join(cacheDir, 'text-encoder-embeds');
  const [hash] = readdirSync(root);
  const input = loadModel(join(root, hash, 'model.onnx')).proto.graph.input.find((v) => v.name === 'inputs_embeds');
  return valueInfoShape(input!).elemType;
}

// fp16 exports (optimum --fp16) store the token table as float16: the learned-embedding path must widen it for the
// JS lookup and feed the encoder copy fp16 embeddings.
describe('learned keyword embeddings on fp16 text encoders', () => {
  it.each([
    ['fp16-stored weights (fp32 I/O)', { halfIo: [], halfWeights: ['text_encoder'] }, { halfIo: [], roundedWeights: ['text_encoder'] }],
    ['fp16 weights and fp16 I/O', { halfIo: ['text_encoder'], halfWeights: ['text_encoder'] }, { halfIo: ['text_encoder'], roundedWeights: ['text_encoder'] }],
    ['fp16 table gathered in fp16 (fp16 inputs_embeds)', { halfIo: [], halfWeights: ['text_encoder'], gatherInHalf: true }, { halfIo: [], roundedWeights: ['text_encoder'] }],
  ])('%s: same conditioning as the fp32 model with the same fp16-rounded weights', async (_label, halfOpts, refOpts) => {
    const cases = join(tinySd15Dir, 'cases');
    const ti = readCase(cases, 'textual_inversion.json');
    const vector = f32(cases, ti.placeholder_embedding_initial);
    const half = makeHalfVariant(tinySd15Dir, join(tempDir(), 'half'), halfOpts);
    if ('gatherInHalf' in halfOpts) rewriteModel(half, 'text_encoder', gatherTokenTableInHalf);
    const rounded = makeHalfVariant(tinySd15Dir, join(tempDir(), 'rounded'), refOpts);
    const results = [];
    const cacheDirs: string[] = [];
    for (const dir of [half, rounded]) {
      const pipe = await DiffusionPipeline.load(dir, { threads: 1 });
      try {
        const plain = await pipe.conditioning([ti.prompt], undefined, false, size);
        cacheDirs.push(tempDir());
        await pipe.setLearnedEmbedding({ keyword: ti.placeholder_token, vectors: [vector], cacheDir: cacheDirs.at(-1) });
        const learned = await pipe.conditioning([ti.prompt], undefined, false, size);
        results.push({ plain: plain.hidden, learned: learned.hidden });
      } finally {
        await pipe.release();
      }
    }
    const [h, r] = results;
    // Both models compute in fp32 from identical (fp16-representable) weights; fp16 I/O rounds the embeddings
    // fed in and the hidden states read out, i.e. at most half an fp16 ulp of values of order 1 (~5e-4) each way.
    const fedInHalf = 'gatherInHalf' in halfOpts;
    const embedsInput = embedsInputType(cacheDirs[0]);
    expect(embedsInput).toBe(fedInHalf ? DataType.FLOAT16 : DataType.FLOAT);
    const tol = halfOpts.halfIo.length > 0 || fedInHalf ? 5e-3 : 1e-5;
    expect(maxAbsDiff(h.learned, r.learned)).toBeLessThan(tol);
    // The learned vector really changes the conditioning on the fp16 model.
    expect(maxAbsDiff(h.learned, h.plain)).toBeGreaterThan(1e-2);
  });
});
