import { AppError } from '../../shared/errors';
import type { ProviderRequest } from '../diffusion/runtime/providers';
import { ClipModel } from './clip-model';
import { checkLpipsSize } from './lpips-graph';
import { LpipsModel } from './lpips-model';
import { cosine } from './metrics';
import { qualityCacheDir } from './model-cache';
import { clipPixelValues, decodeRgb, lpipsInput, type RgbImage } from './preprocess';

/**
 * The two metric models together, and batched scoring of decoded images: CLIP image embeddings, CLIP text
 * embeddings, LPIPS distances of image pairs. Used by `quality images`, the `quality.score` job and the bench.
 */

export interface ScorerOptions {
  /** CLIP: a Hugging Face folder or an optimum-layout ONNX export. */
  clip: string;
  /** LPIPS: an .onnx file or a folder with the AlexNet and lpips .pth files; omitted = no LPIPS. */
  lpips?: string | null;
  lpipsSize?: number;
  cacheDir?: string;
  /** Execution provider: 'cpu' (default), 'auto' (accelerators first, CPU fallback) or one by name. */
  provider?: ProviderRequest;
  threads?: number;
  warn?: (message: string) => void;
}

export const DEFAULT_LPIPS_SIZE = 64;
/** Images per ORT call: big enough to amortise the call, small enough for a 1,000-frame film's memory. */
export const BATCH = 16;

export interface ImagesResult {
  adjacent: { clip: number; lpips: number | null }[];
  text: number[][];
}

export class QualityScorer {
  private constructor(
    readonly clip: ClipModel,
    readonly lpips: LpipsModel | null,
    readonly lpipsSize: number,
  ) {}

  static async open(o: ScorerOptions): Promise<QualityScorer> {
    const lpipsSize = o.lpipsSize ?? DEFAULT_LPIPS_SIZE;
    checkLpipsSize(lpipsSize);
    const cacheDir = qualityCacheDir(o.cacheDir);
    const common = { cacheDir, provider: o.provider, threads: o.threads, warn: o.warn };
    const clip = await ClipModel.open(o.clip, common);
    let lpips: LpipsModel | null = null;
    try {
      lpips = o.lpips ? await LpipsModel.open(o.lpips, common) : null;
    } catch (err) {
      await clip.close();
      throw err;
    }
    return new QualityScorer(clip, lpips, lpipsSize);
  }

  /** Key of cached LPIPS distances: the model's content hash and the input size. */
  get lpipsKey(): string | null {
    return this.lpips ? `${this.lpips.hash}@${this.lpipsSize}` : null;
  }

  async imageEmbeddings(images: RgbImage[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const [c, h, w] = this.clip.imageShape;
    for (let start = 0; start < images.length; start += BATCH) {
      const batch = images.slice(start, start + BATCH);
      const pixels = new Float32Array(batch.length * c * h * w);
      batch.forEach((img, i) => pixels.set(clipPixelValues(img, this.clip.preprocessor), i * c * h * w));
      out.push(...(await this.clip.embedPixels(pixels, batch.length)));
    }
    return out;
  }

  async textEmbeddings(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += BATCH) out.push(...(await this.clip.embedTexts(texts.slice(start, start + BATCH))));
    return out;
  }

  /** LPIPS inputs of one image (kept by callers so an image shared by two pairs is resized once). */
  lpipsTensor(img: RgbImage): Float32Array {
    return lpipsInput(img, this.lpipsSize);
  }

  /** Distances of pairs of LPIPS inputs. */
  async lpipsDistances(pairs: [Float32Array, Float32Array][]): Promise<number[]> {
    if (!this.lpips) throw new AppError('quality.no_lpips', 'no LPIPS model was given (--lpips)');
    const plane = 3 * this.lpipsSize * this.lpipsSize;
    const out: number[] = [];
    for (let start = 0; start < pairs.length; start += BATCH) {
      const batch = pairs.slice(start, start + BATCH);
      const a = new Float32Array(batch.length * plane);
      const b = new Float32Array(batch.length * plane);
      batch.forEach(([x, y], i) => {
        a.set(x, i * plane);
        b.set(y, i * plane);
      });
      out.push(...(await this.lpips.distances(a, b, batch.length, this.lpipsSize)));
    }
    return out;
  }

  /** `quality images`: adjacent-pair CLIP cosine and LPIPS, and every image's cosine with every text. */
  async scoreImages(files: string[], texts: string[]): Promise<ImagesResult> {
    const images = await Promise.all(files.map((f) => decodeRgb(f)));
    const embeds = await this.imageEmbeddings(images);
    const textEmbeds = await this.textEmbeddings(texts);
    const lp = this.lpips ? images.map((img) => this.lpipsTensor(img)) : [];
    const distances = this.lpips ? await this.lpipsDistances(lp.slice(0, -1).map((x, i) => [x, lp[i + 1]])) : [];
    return {
      adjacent: embeds.slice(0, -1).map((e, i) => ({ clip: cosine(e, embeds[i + 1]), lpips: this.lpips ? distances[i] : null })),
      text: embeds.map((e) => textEmbeds.map((t) => cosine(e, t))),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.clip.close(), this.lpips?.close()]);
  }
}
