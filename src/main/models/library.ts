import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { LibraryModel, type ModelImportParams } from '../../shared/api/methods-models';
import { AppError } from '../../shared/errors';
import { configDir, dataDir } from '../util/app-dirs';
import { writeFileAtomic } from '../util/atomic-write';
import { openModelSource } from './source/index';

/**
 * The model library: a per-user folder (never inside a project) whose sub-folders are imported ONNX model
 * folders, each with a `dreamframe-model.json` manifest saying what it is and where it came from.
 *
 * A model folder appears whole or not at all: an import writes into a hidden `.partial-*` folder, adds the
 * manifest, then renames it into place; removal renames it to a hidden `.removing-*` folder before deleting.
 * Listing ignores hidden folders, so a crash at any point leaves nothing half-listed.
 */

export const MANIFEST_FILE = 'dreamframe-model.json';
const SETTINGS_FILE = 'model-library.json';

const LibrarySettings = z.object({ dir: z.string().min(1) }).strict();

/** Where the library lives: an explicit folder, else DREAMFRAME_MODELS, else the saved setting, else the data folder. */
export function modelsDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.DREAMFRAME_MODELS) return resolve(env.DREAMFRAME_MODELS);
  const file = join(configDir(env), SETTINGS_FILE);
  if (existsSync(file)) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new AppError('models.settings_invalid', `${file}: not valid JSON (${(err as Error).message})`, { file });
    }
    const parsed = LibrarySettings.safeParse(json);
    if (!parsed.success) throw new AppError('models.settings_invalid', `${file}: "dir" must be a folder path`, { file });
    return resolve(parsed.data.dir);
  }
  return join(dataDir(env), 'models');
}

/** Saves where the library lives from now on (the models already imported stay where they are). */
export function setModelsDir(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!isAbsolute(dir)) throw new AppError('models.dir_relative', `the models folder must be an absolute path, got "${dir}"`, { dir });
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new AppError('models.dir_not_folder', `${dir} exists and is not a folder`, { dir });
  }
  writeFileAtomic(join(configDir(env), SETTINGS_FILE), `${JSON.stringify({ dir: resolve(dir) }, null, 2)}\n`);
  return resolve(dir);
}

export interface LibraryListing {
  dir: string;
  models: LibraryModel[];
  /** Sub-folders that are not usable models, one sentence each (e.g. a manifest that does not parse). */
  problems: string[];
}

function readManifest(modelDir: string): LibraryModel {
  const file = join(modelDir, MANIFEST_FILE);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppError('models.manifest_invalid', `${file}: not valid JSON (${(err as Error).message})`, { file });
  }
  // The folder may have been moved with the library: the path is where it is now, not where it was written.
  const parsed = LibraryModel.safeParse({ ...(json as object), dir: modelDir, id: basename(modelDir) });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('models.manifest_invalid', `${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { file });
  }
  return parsed.data;
}

export function listLibrary(dir: string): LibraryListing {
  const listing: LibraryListing = { dir, models: [], problems: [] };
  if (!existsSync(dir)) return listing;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const modelDir = join(dir, entry.name);
    if (!existsSync(join(modelDir, MANIFEST_FILE))) {
      listing.problems.push(`${modelDir}: no ${MANIFEST_FILE} (not imported by DreamFrame; use it by its folder path)`);
      continue;
    }
    try {
      listing.models.push(readManifest(modelDir));
    } catch (err) {
      listing.problems.push((err as Error).message);
    }
  }
  listing.models.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return listing;
}

export function getLibraryModel(dir: string, id: string): LibraryModel {
  if (!/^[^./\\][^/\\]*$/.test(id)) throw new AppError('invalid_input', `not a model id: "${id}"`, { id });
  const modelDir = join(dir, id);
  if (!existsSync(join(modelDir, MANIFEST_FILE))) throw new AppError('not_found', `no model "${id}" in ${dir}`, { id, dir });
  return readManifest(modelDir);
}

/** The library model whose folder is `modelDir`, if it is one (render settings store folders). */
export function libraryModelAt(dir: string, modelDir: string): LibraryModel | null {
  const abs = resolve(modelDir);
  return listLibrary(dir).models.find((m) => resolve(m.dir) === abs) ?? null;
}

export function removeFromLibrary(dir: string, id: string): boolean {
  const model = getLibraryModel(dir, id);
  const trash = join(dir, `.removing-${id}-${randomBytes(4).toString('hex')}`);
  renameSync(model.dir, trash);
  rmSync(trash, { recursive: true, force: true });
  return true;
}

/** What the importer hands back; the library adds name, source and time. */
export interface ImportedModel {
  family: LibraryModel['family'];
  prediction: LibraryModel['prediction'];
  nativeWidth: number;
  nativeHeight: number;
  dtype: LibraryModel['dtype'];
  sizeOnDisk: number;
}

export interface ImportProgress { bytesDone: number; bytesTotal: number; tensorsDone: number; tensorsTotal: number; stage: string }

/** Converts a source into an ONNX folder at `outDir` (which must not exist yet); models/importer.ts binds the real one. */
export type Importer = (input: string, outDir: string, opts: Omit<ModelImportParams, 'source'> & {
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
  /** The source's hash, already computed by the library: the importer need not read the source for it again. */
  sourceHash?: string;
}) => Promise<ImportedModel>;

export interface LibraryImportOptions {
  signal?: AbortSignal;
  /** Called once before the source is read for its hash (seconds for a multi-GB checkpoint). */
  onHashing?: () => void;
  onProgress?: (p: ImportProgress) => void;
}

/** The options that change what an import of the same bytes produces (the VAE file is part of the source hash). */
function buildOptions(params: ModelImportParams): LibraryModel['importOptions'] {
  return {
    fp16: params.fp16,
    family: params.family ?? null,
    prediction: params.prediction ?? null,
    config: params.config ? resolve(params.config) : null,
  };
}

const sameOptions = (a: LibraryModel['importOptions'], b: LibraryModel['importOptions']) =>
  a.fp16 === b.fp16 && a.family === b.family && a.prediction === b.prediction && a.config === b.config;

/**
 * The source's identity, as models/source defines it (the file's sha256, or a manifest of its files' sha256s,
 * the --vae file included). Opening also validates the source, so a file that is no model fails here, early.
 */
async function identify(source: string, params: ModelImportParams): Promise<string> {
  const opened = await openModelSource(source, {
    config: params.config, family: params.family, prediction: params.prediction, vae: params.vae,
  });
  try {
    return opened.sourceHash;
  } finally {
    await opened.close();
  }
}

function slug(name: string): string {
  const s = name.replace(/\.(safetensors|ckpt|pt|bin)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '');
  return (s || 'model').slice(0, 80);
}

function freeFolderName(dir: string, base: string): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!existsSync(join(dir, name))) return name;
  }
}

/**
 * Imports a checkpoint or diffusers folder into the library, or returns the model already imported from the
 * same bytes with the same precision (so importing twice costs one hash, not a conversion).
 */
export async function importIntoLibrary(
  dir: string, params: ModelImportParams, importer: Importer, opts: LibraryImportOptions = {},
): Promise<{ model: LibraryModel; reused: boolean }> {
  const source = resolve(params.source);
  if (!existsSync(source)) throw new AppError('models.source_missing', `${source} does not exist`, { source });
  opts.onHashing?.();
  const sourceHash = await identify(source, params);
  if (opts.signal?.aborted) throw new AppError('models.cancelled', `the import of ${source} was cancelled`, { source });
  const importOptions = buildOptions(params);
  const existing = listLibrary(dir).models.find((m) => m.sourceHash === sourceHash && sameOptions(m.importOptions, importOptions));
  if (existing) return { model: existing, reused: true };

  mkdirSync(dir, { recursive: true });
  cleanStalePartials(dir);
  const partial = join(dir, `.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(partial);
  try {
    const staged = join(partial, 'model');
    const { source: _source, ...importOpts } = params;
    const info = await importer(source, staged, { ...importOpts, signal: opts.signal, onProgress: opts.onProgress, sourceHash });
    const name = basename(source);
    const manifest: Omit<LibraryModel, 'id' | 'dir'> = {
      name,
      family: info.family,
      prediction: info.prediction,
      nativeWidth: info.nativeWidth,
      nativeHeight: info.nativeHeight,
      dtype: info.dtype,
      sizeOnDisk: info.sizeOnDisk,
      sourceHash,
      source,
      importOptions,
      importedAt: new Date().toISOString(),
    };
    writeFileAtomic(join(staged, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    const id = freeFolderName(dir, slug(name));
    renameSync(staged, join(dir, id));
    return { model: getLibraryModel(dir, id), reused: false };
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** Removes `.partial-<pid>-*` / `.removing-*` folders left by processes that no longer run. */
export function cleanStalePartials(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const partial = /^\.partial-(\d+)-/.exec(entry.name);
    const stale = entry.name.startsWith('.removing-') || (partial !== null && !processAlive(Number(partial[1])));
    if (stale) rmSync(join(dir, entry.name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
