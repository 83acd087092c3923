import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { modelsDir } from '../models/library';
import { modelFolderHash } from './model-hash';

/**
 * A worker's models: the model folders under its `--models` folder (each sub-folder that is a diffusers-style
 * ONNX pipeline; the folder itself counts too when it is one), by content hash. A task is rendered only with
 * the folder whose hash it names.
 */

/** Where a worker looks without `--models`: the model library (DREAMFRAME_MODELS, the saved setting, the data folder). */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return modelsDir(undefined, env);
}

function isModelFolder(dir: string): boolean {
  return existsSync(join(dir, 'model_index.json')) || existsSync(join(dir, 'unet'));
}

export interface IndexedModel { hash: string; dir: string }

export class ModelIndex {
  private byHash = new Map<string, string>();
  private constructor(readonly root: string) {}

  /** Hashes every model folder under `root` (a missing root is an empty index, reported by the caller). */
  static scan(root: string, onModel: (m: IndexedModel) => void = () => {}): ModelIndex {
    const index = new ModelIndex(resolve(root));
    index.rescan(onModel);
    return index;
  }

  rescan(onModel: (m: IndexedModel) => void = () => {}): void {
    const next = new Map<string, string>();
    const candidates: string[] = [];
    if (existsSync(this.root)) {
      if (isModelFolder(this.root)) candidates.push(this.root);
      for (const name of readdirSync(this.root)) {
        const dir = join(this.root, name);
        // statSync follows links: a models folder of symlinks to model folders elsewhere works.
        if (!name.startsWith('.') && statSync(dir, { throwIfNoEntry: false })?.isDirectory() && isModelFolder(dir)) candidates.push(dir);
      }
    }
    for (const dir of candidates) {
      const hash = modelFolderHash(dir);
      if (!next.has(hash)) next.set(hash, dir);
      onModel({ hash, dir });
    }
    this.byHash = next;
  }

  /** The folder whose content hash is `hash`, or null. */
  folder(hash: string): string | null {
    return this.byHash.get(hash) ?? null;
  }

  get hashes(): string[] {
    return [...this.byHash.keys()];
  }

  get size(): number {
    return this.byHash.size;
  }
}
