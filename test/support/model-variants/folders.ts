import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, saveModel } from '../../../src/main/onnx/model-io';
import type { OnnxModel } from '../../../src/main/onnx/types';
import { writeFileAtomic } from '../../../src/main/util/atomic-write';

/** Copying a fixture's pipeline folder and rewriting its JSON configs and ONNX models in the copy. */

/** Copies `<fixture>/pipeline` (or only the listed entries of it) to `dest`; returns `dest`. */
export function copyPipeline(fixtureDir: string, dest: string, entries?: string[]): string {
  const src = join(fixtureDir, 'pipeline');
  if (!existsSync(src)) throw new Error(`${src}: fixture pipeline folder not found`);
  if (!entries) cpSync(src, dest, { recursive: true });
  else for (const entry of entries) cpSync(join(src, entry), join(dest, entry), { recursive: true });
  return dest;
}

export function readJson(path: string): Record<string, any> {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Applies `edit` to the JSON file at `path` in place. */
export function editJson(path: string, edit: (json: Record<string, any>) => void): void {
  const json = readJson(path);
  edit(json);
  writeJson(path, json);
}

/**
 * Loads `<dir>/<component>/model.onnx`, applies `edit` and saves it back. A model whose weights were in
 * `weights.pb` (the diffusers-script UNet) keeps that layout; inline models stay inline.
 */
export function rewriteModel(dir: string, component: string, edit: (model: OnnxModel) => void): void {
  const file = join(dir, component, 'model.onnx');
  const model = loadModel(file);
  edit(model);
  const hadWeightsFile = existsSync(join(dir, component, 'weights.pb'));
  saveModel(model, file, { externalData: hadWeightsFile ? { location: 'weights.pb' } : false });
}
