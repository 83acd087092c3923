import { cpSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectModelFolder, loadModelFolder } from '../../src/main/diffusion/loader/model-folder';
import { openModelSession } from '../../src/main/diffusion/runtime/session';
import { tinySd15Dir, tinySdxlDir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const tempDir = useTempDir('dreamframe-diffusion-');

function copyPipeline(src: string): string {
  const dir = join(tempDir(), 'model');
  cpSync(join(src, 'pipeline'), dir, { recursive: true });
  return dir;
}

async function loadError(dir: string, opts = {}): Promise<{ code: string; message: string }> {
  try {
    const model = await loadModelFolder(dir, { threads: 1, ...opts });
    await model.release();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected the load to fail');
}

// Minimal protobuf writer for hand-made ONNX graphs.
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const len = (no: number, payload: Buffer | string) => {
  const b = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint(no * 8 + 2), varint(b.length), b]);
};
const num = (no: number, v: number) => Buffer.concat([varint(no * 8), varint(v)]);
/** ValueInfoProto { name, type: TypeProto { tensor_type { elem_type FLOAT, shape { dim { dim_value } } } } } */
const valueInfo = (name: string, dims: number[]) =>
  Buffer.concat([len(1, name), len(2, len(1, Buffer.concat([num(1, 1), len(2, Buffer.concat(dims.map((d) => len(1, num(1, d)))))])))]);

/** An ONNX model whose only node is com.microsoft BiasSplitGelu (a fused op with CUDA/WebGPU kernels only). */
function biasSplitGeluModel(): Buffer {
  const node = Buffer.concat([len(1, 'X'), len(1, 'B'), len(2, 'Y'), len(4, 'BiasSplitGelu'), len(7, 'com.microsoft')]);
  const graph = Buffer.concat([len(1, node), len(2, 'g'), len(11, valueInfo('X', [1, 1, 4])), len(11, valueInfo('B', [4])), len(12, valueInfo('Y', [1, 1, 2]))]);
  return Buffer.concat([num(1, 8), len(8, Buffer.concat([len(1, ''), num(2, 17)])), len(8, Buffer.concat([len(1, 'com.microsoft'), num(2, 1)])), len(7, graph)]);
}

describe('broken model folders give errors naming the file and the problem', () => {
  it('a folder that does not exist', async () => {
    const err = await loadError(join(tempDir(), 'nope'));
    expect(err.code).toBe('diffusion.model_incomplete');
    expect(err.message).toContain('nope');
  });

  it('missing model_index.json', async () => {
    const dir = copyPipeline(tinySd15Dir);
    rmSync(join(dir, 'model_index.json'));
    const err = await loadError(dir);
    expect(err).toMatchObject({ code: 'diffusion.model_incomplete' });
    expect(err.message).toContain(join(dir, 'model_index.json'));
  });

  it('missing UNet model', async () => {
    const dir = copyPipeline(tinySd15Dir);
    rmSync(join(dir, 'unet/model.onnx'));
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.model_incomplete');
    expect(err.message).toContain(join(dir, 'unet/model.onnx'));
  });

  it('missing tokenizer folder', async () => {
    const dir = copyPipeline(tinySd15Dir);
    rmSync(join(dir, 'tokenizer'), { recursive: true });
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.model_incomplete');
    expect(err.message).toContain(join(dir, 'tokenizer'));
  });

  it('SDXL folder without text_encoder_2 (listed in model_index.json)', async () => {
    const dir = copyPipeline(tinySdxlDir);
    rmSync(join(dir, 'text_encoder_2'), { recursive: true });
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.model_incomplete');
    expect(err.message).toContain(join(dir, 'text_encoder_2/model.onnx'));
  });

  it('truncated text encoder', async () => {
    const dir = copyPipeline(tinySd15Dir);
    const file = join(dir, 'text_encoder/model.onnx');
    truncateSync(file, Math.floor(statSync(file).size * 0.6));
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.model_truncated');
    expect(err.message).toContain(file);
  });

  it('missing external weights (unet/weights.pb)', async () => {
    const dir = copyPipeline(tinySd15Dir);
    rmSync(join(dir, 'unet/weights.pb'));
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.external_data_missing');
    expect(err.message).toContain('weights.pb');
    expect(err.message).toContain(join(dir, 'unet/model.onnx'));
  });

  it('truncated external weights', async () => {
    const dir = copyPipeline(tinySd15Dir);
    const file = join(dir, 'unet/weights.pb');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.model_truncated');
    expect(err.message).toContain(file);
  });

  it('a file that is not ONNX', async () => {
    const dir = copyPipeline(tinySd15Dir);
    writeFileSync(join(dir, 'vae_decoder/model.onnx'), 'this is not a protobuf at all, just text\n'.repeat(10));
    const err = await loadError(dir);
    expect(['diffusion.model_invalid', 'diffusion.model_truncated']).toContain(err.code);
    expect(err.message).toContain(join(dir, 'vae_decoder/model.onnx'));
  });

  it('unexpected input names: a VAE decoder where the UNet should be', async () => {
    const dir = copyPipeline(tinySd15Dir);
    rmSync(join(dir, 'unet'), { recursive: true });
    cpSync(join(dir, 'vae_decoder'), join(dir, 'unet'), { recursive: true });
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.unexpected_inputs');
    expect(err.message).toContain(join(dir, 'unet/model.onnx'));
    expect(err.message).toContain('latent_sample');
  });

  it('unexpected input names: a VAE decoder where the text encoder should be', async () => {
    const dir = copyPipeline(tinySd15Dir);
    copyFileSync(join(dir, 'vae_decoder/model.onnx'), join(dir, 'text_encoder/model.onnx'));
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.unexpected_inputs');
    expect(err.message).toContain(join(dir, 'text_encoder/model.onnx'));
  });

  it('ops the CPU provider cannot run (ORT-optimized fused op) are named before loading', async () => {
    const dir = copyPipeline(tinySd15Dir);
    writeFileSync(join(dir, 'unet/model.onnx'), biasSplitGeluModel());
    const scan = inspectModelFolder(dir).scans.unet;
    expect(scan.opCounts).toEqual({ 'com.microsoft:BiasSplitGelu': 1 });
    const err = await loadError(dir);
    expect(err.code).toBe('diffusion.unsupported_op');
    expect(err.message).toContain(join(dir, 'unet/model.onnx'));
    expect(err.message).toContain('BiasSplitGelu');
    expect(err.message).toContain('cpu');
  });

  it("onnxruntime's own missing-kernel error is mapped to the same code, naming the file", async () => {
    const file = join(tempDir(), 'fused.onnx');
    writeFileSync(file, biasSplitGeluModel());
    await expect(openModelSession(file, 'cpu')).rejects.toMatchObject({ code: 'diffusion.unsupported_op', message: expect.stringContaining(file) });
  });

  it('an accelerator that cannot start falls back to CPU with a visible warning', async () => {
    const warnings: string[] = [];
    const model = await loadModelFolder(join(tinySd15Dir, 'pipeline'), { provider: 'coreml', threads: 1, onWarning: (w) => warnings.push(w) });
    try {
      expect(model.provider).toBe('cpu');
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings[0]).toMatch(/coreml/i);
      expect(model.warnings).toEqual(warnings);
    } finally {
      await model.release();
    }
  });
});
