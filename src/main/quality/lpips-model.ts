import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError } from '../../shared/errors';
import { timedRun, type ModelSession } from '../diffusion/runtime/session';
import type { ProviderName, ProviderRequest } from '../diffusion/runtime/providers';
import { openOnProvider } from './sessions';
import { saveModel } from '../onnx/model-io';
import { buildLpipsAlexModel } from './lpips-graph';
import { hashFiles } from './model-cache';
import { CheckpointStore } from './source-store';
import type { FloatTensor } from '../style/formats/safetensors';
import { readTorchStateDict } from './torch-weights';

/**
 * LPIPS from either form: an .onnx export (in0, in1 → distance), or a folder holding torchvision's AlexNet state
 * dict and lpips' `alex.pth` linear layers (told apart by their keys, whatever the files are called), built into
 * an ONNX graph once per content hash: <cache>/lpips/<hash>/lpips.onnx.
 */

const BUILDER_VERSION = 'lpips-alex-1';

export interface LpipsOpenOptions {
  cacheDir: string;
  provider?: ProviderRequest;
  threads?: number;
  warn?: (message: string) => void;
}

function buildFromTorch(folder: string, cacheDir: string): { file: string; hash: string } {
  const pths = readdirSync(folder).filter((f) => f.endsWith('.pth') || f.endsWith('.pt')).sort().map((f) => join(folder, f));
  // Keyed by every checkpoint in the folder, so a cached build is found without unpickling anything.
  const hash = hashFiles(pths, BUILDER_VERSION);
  const dir = join(cacheDir, 'lpips', hash);
  const file = join(dir, 'lpips.onnx');
  if (pths.length && existsSync(file)) return { file, hash };
  let trunk: { path: string; tensors: Map<string, FloatTensor> } | undefined;
  let lins: { path: string; tensors: Map<string, FloatTensor> } | undefined;
  for (const path of pths) {
    const tensors = readTorchStateDict(path);
    if (tensors.has('features.0.weight')) trunk = { path, tensors };
    else if (tensors.has('lin0.model.1.weight')) lins = { path, tensors };
  }
  if (!trunk || !lins) {
    throw new AppError('quality.model_missing', `${folder}: needs torchvision's AlexNet state dict (features.*) and lpips' alex.pth (lin0..lin4); found ${pths.length ? pths.join(', ') : 'no .pth files'}`, { file: folder });
  }
  const store = new CheckpointStore((key) => {
    const src = key.startsWith('lin') ? lins! : trunk!;
    const t = src.tensors.get(key);
    if (!t) throw new AppError('quality.model_invalid', `${src.path}: tensor "${key}" is missing`, { file: src.path, key });
    return t;
  }, `${trunk.path} + ${lins.path}`);
  const model = buildLpipsAlexModel(store);
  const tmp = `${dir}.${randomBytes(4).toString('hex')}.tmp`;
  mkdirSync(tmp, { recursive: true });
  try {
    saveModel({ proto: model, baseDir: tmp }, join(tmp, 'lpips.onnx'), { externalData: false });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return { file, hash };
}

export class LpipsModel {
  private constructor(
    readonly form: 'onnx' | 'torch',
    readonly hash: string,
    readonly provider: ProviderName,
    private readonly session: ModelSession,
  ) {}

  static async open(path: string, opts: LpipsOpenOptions): Promise<LpipsModel> {
    if (!existsSync(path)) throw new AppError('quality.model_missing', `${path}: no such LPIPS model (an .onnx file or a folder with the two .pth files)`, { file: path });
    let file: string;
    let hash: string;
    let form: 'onnx' | 'torch';
    if (statSync(path).isDirectory()) {
      ({ file, hash } = buildFromTorch(path, opts.cacheDir));
      form = 'torch';
    } else {
      file = path;
      hash = hashFiles([path], 'lpips-onnx');
      form = 'onnx';
    }
    const { provider, sessions: [session] } = await openOnProvider([file], opts.provider, opts.threads, opts.warn);
    if (!session.inputs.has('in0') || !session.inputs.has('in1') || !session.outputs.has('distance')) {
      throw new AppError('quality.model_invalid', `${file}: an LPIPS model needs inputs in0, in1 and output distance`, { file });
    }
    return new LpipsModel(form, hash, provider, session);
  }

  /** Distances of `count` pairs; in0/in1 hold the pairs' [3, size, size] inputs back to back. */
  async distances(in0: Float32Array, in1: Float32Array, count: number, size: number): Promise<number[]> {
    if (count === 0) return [];
    const dims = [count, 3, size, size];
    const out = await timedRun(this.session, { in0: new ort.Tensor('float32', in0, dims), in1: new ort.Tensor('float32', in1, dims) }, ['distance']);
    return Array.from(out.distance.data as Float32Array);
  }

  async close(): Promise<void> {
    await this.session.session.release();
  }
}
