import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { AppError } from '../../../shared/errors';
import { encodeModel } from '../../onnx/model-io';
import { numel } from '../../onnx/tensor';
import { writeFileAtomic } from '../../util/atomic-write';
import { convertGraphToHalf } from './fp16';
import { graphPlans, type GraphPlan, type OnnxModelName } from './graphs';
import { PlannedStore } from './planned-store';
import { checkShape, findSourceTensor, writeTensors } from './tensor-writer';
import type { ModelProto } from '../../onnx/types';
import type { ImportDtype, ImportedModelInfo, ImportFamily, ImportOptions, ImportProgress, ImportSource, ImportSourceTensor } from './types';

/** External-data file beside each model.onnx (optimum's name). */
export const DATA_FILE = 'model.onnx_data';
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** The temporary folder an import of `outDir` is built in: hidden, beside it, so the final rename stays on one disk. */
export function tempFolderFor(outDir: string): string {
  return join(dirname(outDir), `.${basename(outDir)}.importing`);
}

/** Refuses an --out that exists and is not an empty folder. */
export function checkOutDir(outDir: string): void {
  if (!existsSync(outDir)) return;
  if (!statSync(outDir).isDirectory()) throw new AppError('import.out_exists', `${outDir} exists and is not a folder; choose a new folder`, { path: outDir });
  if (readdirSync(outDir).length > 0) throw new AppError('import.out_exists', `${outDir} already exists and is not empty; choose a new folder or an empty one`, { path: outDir });
}

function copyDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(from)) {
    if (statSync(join(from, f)).isFile()) copyFileSync(join(from, f), join(to, f));
  }
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    const s = statSync(p);
    total += s.isDirectory() ? folderBytes(p) : s.size;
  }
  return total;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * optimum's model_index.json. SDXL base zeroes the unconditional embeddings for an empty negative prompt (diffusers'
 * default for StableDiffusionXLPipeline); the refiner does not, and says it conditions on an aesthetic score.
 */
function modelIndex(family: ImportFamily, written: OnnxModelName[], schedulerClass: string, fromSource: Record<string, unknown> = {}): Record<string, unknown> {
  const sdxl = family === 'sdxl' || family === 'sdxl-refiner';
  const index: Record<string, unknown> = {
    _class_name: sdxl ? 'ORTStableDiffusionXLPipeline' : 'ORTStableDiffusionPipeline',
    _diffusers_version: '0.19.3',
    _dreamframe_importer: 1,
    scheduler: ['diffusers', schedulerClass],
  };
  for (const name of written) index[name] = ['onnxruntime', 'ORTModel'];
  if (written.includes('text_encoder')) index.tokenizer = ['transformers', 'CLIPTokenizer'];
  if (written.includes('text_encoder_2')) index.tokenizer_2 = ['transformers', 'CLIPTokenizer'];
  if (sdxl) {
    const flag = (key: string, fallback: boolean) => (typeof fromSource[key] === 'boolean' ? fromSource[key] : fallback);
    index.force_zeros_for_empty_prompt = flag('force_zeros_for_empty_prompt', family === 'sdxl');
    index.requires_aesthetics_score = flag('requires_aesthetics_score', family === 'sdxl-refiner');
  }
  return index;
}

export interface PlannedGraph {
  plan: GraphPlan;
  weights: Map<string, ImportSourceTensor>;
  store: PlannedStore;
  proto: ModelProto;
}

/**
 * Builds every graph of the import (no weights read) and checks that the source has each parameter in a shape
 * that fills it, so a wrong or lying checkpoint fails before anything is written. `unused` describes the source
 * tensors no graph takes (surplus OpenCLIP blocks, logit_scale, position_ids…): worth a note, not an error.
 */
export function planImport(source: ImportSource, dtype: ImportDtype): { built: PlannedGraph[]; unused: string[] } {
  const built = graphPlans(source).map((plan) => {
    const weights = source.components[plan.component];
    if (!weights) throw new AppError('import.component_missing', `the checkpoint has no ${plan.component} weights (needed by ${plan.name})`, { component: plan.component });
    const store = new PlannedStore(DATA_FILE, modelDtype(source, plan, dtype));
    const proto = plan.build(store);
    for (const p of store.planned) {
      const src = findSourceTensor(weights, p.name);
      if (!src) throw new AppError('import.missing_tensor', `${plan.component}: the checkpoint has no "${p.name}" (needed by the ${plan.name} graph)`, { component: plan.component, key: p.name });
      checkShape(plan.name, p, src);
    }
    return { plan, weights, store, proto };
  });
  const unused: string[] = [];
  for (const component of new Set(built.map((b) => b.plan.component))) {
    const graphs = built.filter((b) => b.plan.component === component);
    const used = new Set(graphs.flatMap((b) => b.store.planned.map((p) => findSourceTensor(b.weights, p.name)!.key)));
    const left = [...graphs[0].weights.keys()].filter((k) => !used.has(k));
    if (left.length > 0) unused.push(`${component}: ${left.length} tensor(s) not used by the graph (${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''})`);
  }
  return { built, unused };
}

/**
 * The precision of one model. Under --fp16 the SDXL VAE stays float32 unless its config says `force_upcast: false`
 * (diffusers' default is true; the "fp16-fix" VAE sets false): the original SDXL VAE's activations overflow float16
 * and decode to NaN, which is why diffusers' SDXL pipelines upcast it. SD 1.x/2.x VAEs are fine in float16.
 */
export function modelDtype(source: ImportSource, plan: GraphPlan, dtype: ImportDtype): ImportDtype {
  const sdxl = source.family === 'sdxl' || source.family === 'sdxl-refiner';
  if (dtype === 'float16' && sdxl && plan.component === 'vae' && source.configs.vae.force_upcast !== false) return 'float32';
  return dtype;
}

export interface WriteFolderOptions {
  dtype: ImportDtype;
  signal?: AbortSignal;
  onProgress?: ImportOptions['onProgress'];
  notes?: string[];
}

/**
 * Builds the ONNX folder for `source` in a temporary folder beside `outDir` and renames it into place when complete:
 * `outDir` is either absent (or the empty folder it was) or a whole model. A temporary folder left by an import
 * that was killed is removed first. Returns what the model library records.
 */
export async function writeImportedFolder(source: ImportSource, outDirIn: string, opts: WriteFolderOptions): Promise<ImportedModelInfo> {
  const started = performance.now();
  const outDir = resolve(outDirIn);
  checkOutDir(outDir);
  const notes = [...source.notes, ...(opts.notes ?? [])];
  const { built, unused } = planImport(source, opts.dtype);
  notes.push(...unused);
  const progress: ImportProgress = {
    bytesDone: 0,
    bytesTotal: built.reduce((s, b) => s + b.store.planned.reduce((t, p) => t + findSourceTensor(b.weights, p.name)!.byteLength, 0), 0),
    tensorsDone: 0,
    tensorsTotal: built.reduce((s, b) => s + b.store.planned.length, 0),
    stage: 'graphs',
  };
  opts.onProgress?.({ ...progress });

  const tmp = tempFolderFor(outDir);
  rmSync(tmp, { recursive: true, force: true }); // left by an import that was killed
  mkdirSync(tmp, { recursive: true });
  const parameters: Record<string, number> = {};
  try {
    for (const { plan, weights, store, proto } of built) {
      const dir = join(tmp, plan.name);
      mkdirSync(dir, { recursive: true });
      progress.stage = plan.name;
      opts.onProgress?.({ ...progress });
      await writeTensors({
        component: plan.name,
        file: join(dir, DATA_FILE),
        planned: store.planned,
        size: store.size,
        weights,
        dtype: store.dtype,
        signal: opts.signal,
        onTensor: (t) => {
          progress.bytesDone += t.sourceBytes;
          progress.tensorsDone++;
          return opts.onProgress?.({ ...progress });
        },
      });
      if (store.dtype === 'float16') convertGraphToHalf(proto, { upcastAttention: plan.name === 'unet' && plan.config.upcast_attention === true });
      const bytes = encodeModel(proto);
      if (bytes.byteLength > PROTOBUF_LIMIT) throw new AppError('onnx_model_too_large', `${plan.name}/model.onnx would be ${bytes.byteLength} bytes`, { model: plan.name });
      writeFileAtomic(join(dir, 'model.onnx'), bytes);
      writeFileAtomic(join(dir, 'config.json'), json(plan.config));
      parameters[plan.name] = store.planned.reduce((s, p) => s + numel(p.dims), 0);
    }

    progress.stage = 'finishing';
    opts.onProgress?.({ ...progress });
    if (source.tokenizerDirs.tokenizer && built.some((b) => b.plan.name === 'text_encoder')) copyDir(source.tokenizerDirs.tokenizer, join(tmp, 'tokenizer'));
    if (source.tokenizerDirs.tokenizer_2 && built.some((b) => b.plan.name === 'text_encoder_2')) copyDir(source.tokenizerDirs.tokenizer_2, join(tmp, 'tokenizer_2'));
    const scheduler: Record<string, unknown> = { ...source.configs.scheduler, prediction_type: source.prediction };
    mkdirSync(join(tmp, 'scheduler'));
    writeFileAtomic(join(tmp, 'scheduler/scheduler_config.json'), json(scheduler));
    const schedulerClass = typeof scheduler._class_name === 'string' ? scheduler._class_name : 'PNDMScheduler';
    writeFileAtomic(join(tmp, 'model_index.json'), json(modelIndex(source.family, built.map((b) => b.plan.name), schedulerClass, source.modelIndex)));

    if (opts.signal?.aborted) throw new AppError('import.aborted', 'import cancelled');
    // An empty --out folder is replaced by the rename (rename(2) replaces an empty directory).
    renameSync(tmp, outDir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }

  const unet = built.find((b) => b.plan.name === 'unet')!.plan.config;
  const vaeBlocks = Array.isArray(source.configs.vae.block_out_channels) ? source.configs.vae.block_out_channels.length : 4;
  const sampleSize = typeof unet.sample_size === 'number' ? unet.sample_size : 64;
  const native = sampleSize * 2 ** (vaeBlocks - 1);
  return {
    family: source.family,
    prediction: source.prediction,
    nativeWidth: native,
    nativeHeight: native,
    dtype: opts.dtype,
    sizeOnDisk: folderBytes(outDir),
    sourceHash: source.sourceHash,
    outDir,
    notes,
    parameters,
    seconds: (performance.now() - started) / 1000,
  };
}
