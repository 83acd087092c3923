import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keywordGradient, type TrainingDraw } from '../../src/main/style/trainer';
import { openTrainingModel } from '../../src/main/style/trainer-setup';
import { makeHalfVariant } from '../support/model-variants/dtype-variants';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';
import { readCase, readF32, readIds } from './support/fixture';

const tempDir = useTempDir('style-fp16-');

/**
 * Curators often hold fp16 exports (optimum --fp16). Training widens them to float32 before differentiating, so the
 * gradient must equal the float32 model's with the same (fp16-representable) weights — the reference here is the
 * fixture with its weights rounded to fp16 but stored and computed in float32.
 */
describe('textual inversion on an fp16 export', () => {
  it('tiny-sd15 with fp16 weights and fp16 I/O: loss and keyword gradient equal the rounded float32 model', async () => {
    const half = makeHalfVariant(tinySd15Dir, join(tempDir(), 'half'), { halfIo: ['text_encoder', 'unet'], halfWeights: ['text_encoder', 'unet'] });
    const rounded = makeHalfVariant(tinySd15Dir, join(tempDir(), 'rounded'), { halfIo: [], roundedWeights: ['text_encoder', 'unet'] });
    const ti = readCase(tinySd15Dir, 'textual_inversion.json');
    // An existing token's row is what training learns; 'painting' stands for the keyword.
    const ids = readIds(tinySd15Dir, ti.input_ids).map((id) => (id === ti.placeholder_token_id ? ti.initializer_token_id : id));
    const positions = [4];
    const latent = readF32(tinySd15Dir, ti.latents);
    const noise = readF32(tinySd15Dir, ti.noise);
    const vector = readF32(tinySd15Dir, ti.placeholder_embedding_initial);
    const results: { loss: number; row: Float32Array }[][] = [];
    for (const dir of [half, rounded]) {
      const model = await openTrainingModel(dir, { cacheDir: tempDir(), threads: 1 });
      try {
        const perT = [];
        for (const c of ti.cases.slice(0, 2)) {
          const draw: TrainingDraw = { prompt: [{ ids, positions }], latent, noise, timestep: c.t };
          const { loss, rows } = await keywordGradient(model, draw, [vector]);
          perT.push({ loss, row: rows[0] });
        }
        results.push(perT);
      } finally {
        await model.release();
      }
    }
    const [h, r] = results;
    for (let k = 0; k < h.length; k++) {
      expect(Math.abs(h[k].loss - r[k].loss) / r[k].loss).toBeLessThan(1e-5);
      let diff = 0;
      let ref = 0;
      for (let j = 0; j < r[k].row.length; j++) {
        diff += (h[k].row[j] - r[k].row[j]) ** 2;
        ref += r[k].row[j] ** 2;
      }
      expect(ref).toBeGreaterThan(0);
      expect(Math.sqrt(diff / ref)).toBeLessThan(1e-4);
    }
  });
});
