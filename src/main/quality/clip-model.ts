import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AppError } from '../../shared/errors';
import { ClipTokenizer } from '../diffusion/tokenizer/clip-tokenizer';
import { timedRun, type ModelSession } from '../diffusion/runtime/session';
import type { ProviderName, ProviderRequest } from '../diffusion/runtime/providers';
import { openOnProvider } from './sessions';
import { convertHfClip, readJsonFile } from './clip-convert';
import { hashFiles } from './model-cache';
import { readClipPreprocessor, type ClipPreprocessor } from './preprocess';

/**
 * CLIP as the metrics use it, from either form users have:
 *  - `hf`: a Hugging Face folder (config.json, model.safetensors, tokenizer files, preprocessor_config.json),
 *    converted once to ONNX by our graph builders (clip-convert.ts);
 *  - `onnx`: the transformers.js / optimum layout, onnx/text_model.onnx + onnx/vision_model.onnx with the configs
 *    and tokenizer files beside onnx/.
 * Embeddings come back as the models' projections (text_embeds / image_embeds), not normalised.
 */

export interface ClipOpenOptions {
  cacheDir: string;
  provider?: ProviderRequest;
  threads?: number;
  warn?: (message: string) => void;
}

export class ClipModel {
  private constructor(
    readonly form: 'hf' | 'onnx',
    /** Content hash of the weights and the preprocessing config: part of every cached score's key. */
    readonly hash: string,
    readonly preprocessor: ClipPreprocessor,
    readonly tokenizer: ClipTokenizer,
    /** Where the sessions run. */
    readonly provider: ProviderName,
    private readonly text: ModelSession,
    private readonly vision: ModelSession,
  ) {}

  static async open(folder: string, opts: ClipOpenOptions): Promise<ClipModel> {
    const ppPath = join(folder, 'preprocessor_config.json');
    if (!existsSync(folder)) throw new AppError('quality.model_missing', `${folder}: no such CLIP folder`, { file: folder });
    if (!existsSync(ppPath)) throw new AppError('quality.model_missing', `${folder}: no preprocessor_config.json`, { file: ppPath });
    const preprocessor = readClipPreprocessor(readJsonFile(ppPath), ppPath);
    const tokenizer = ClipTokenizer.fromDir(folder);
    const onnxText = join(folder, 'onnx', 'text_model.onnx');
    const onnxVision = join(folder, 'onnx', 'vision_model.onnx');
    let form: 'hf' | 'onnx';
    let textFile: string;
    let visionFile: string;
    let weightsHash: string;
    if (existsSync(onnxText) && existsSync(onnxVision)) {
      form = 'onnx';
      textFile = onnxText;
      visionFile = onnxVision;
      weightsHash = hashFiles([onnxText, onnxVision], 'clip-onnx');
    } else if (existsSync(join(folder, 'model.safetensors'))) {
      form = 'hf';
      const converted = convertHfClip(folder, opts.cacheDir);
      textFile = converted.textModel;
      visionFile = converted.visionModel;
      weightsHash = converted.hash;
    } else {
      throw new AppError('quality.model_missing', `${folder}: neither a Hugging Face CLIP folder (model.safetensors) nor an ONNX export (onnx/text_model.onnx + onnx/vision_model.onnx)`, { file: folder });
    }
    const { provider, sessions: [text, vision] } = await openOnProvider([textFile, visionFile], opts.provider, opts.threads, opts.warn);
    for (const [s, input, output] of [[text, 'input_ids', 'text_embeds'], [vision, 'pixel_values', 'image_embeds']] as const) {
      if (!s.inputs.has(input) || !s.outputs.has(output)) throw new AppError('quality.model_invalid', `${s.file}: expected input ${input} and output ${output}`, { file: s.file });
    }
    const hash = hashFiles([ppPath], weightsHash);
    return new ClipModel(form, hash, preprocessor, tokenizer, provider, text, vision);
  }

  get imageShape(): [number, number, number] {
    return [3, this.preprocessor.cropHeight, this.preprocessor.cropWidth];
  }

  /** Token ids as the reference feeds them: BOS + BPE + EOS, padded to 77. */
  tokenize(texts: string[]): number[][] {
    return texts.map((t) => this.tokenizer.encode(t));
  }

  async embedTokenIds(ids: number[][]): Promise<Float32Array[]> {
    if (ids.length === 0) return [];
    const len = ids[0].length;
    const type = this.text.inputs.get('input_ids')!.type;
    const flat = ids.flat();
    const tensor = type === 'int32' ? new ort.Tensor('int32', Int32Array.from(flat), [ids.length, len]) : new ort.Tensor('int64', BigInt64Array.from(flat.map(BigInt)), [ids.length, len]);
    const out = await timedRun(this.text, { input_ids: tensor }, ['text_embeds']);
    return split(out.text_embeds.data as Float32Array, ids.length);
  }

  embedTexts(texts: string[]): Promise<Float32Array[]> {
    return this.embedTokenIds(this.tokenize(texts));
  }

  /** `pixels`: N images of imageShape, concatenated. */
  async embedPixels(pixels: Float32Array, count: number): Promise<Float32Array[]> {
    if (count === 0) return [];
    const out = await timedRun(this.vision, { pixel_values: new ort.Tensor('float32', pixels, [count, ...this.imageShape]) }, ['image_embeds']);
    return split(out.image_embeds.data as Float32Array, count);
  }

  async close(): Promise<void> {
    await Promise.all([this.text.session.release(), this.vision.session.release()]);
  }
}

function split(data: Float32Array, n: number): Float32Array[] {
  const width = data.length / n;
  return Array.from({ length: n }, (_, i) => data.slice(i * width, (i + 1) * width));
}
