import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cleanStalePartials, importIntoLibrary, libraryModelAt, listLibrary, MANIFEST_FILE, modelsDir, removeFromLibrary,
  setModelsDir, type Importer,
} from '../../src/main/models/library';
import { sha256File } from '../../src/main/models/source/hash';
import { tinySd15Dir } from '../support/paths';
import { useTempDir } from '../support/tmp';

const tmp = useTempDir('dreamframe-library-');

/**
 * Stands in for the converter so these tests are about the library alone (dedup, atomic appearance,
 * removal): it writes the fixture's ONNX pipeline where the converter would. test/models/import covers
 * the real conversion, and library-import.test.ts the two together.
 */
function copyingImporter(calls: string[], failAfterCopy = false): Importer {
  return async (input, outDir, opts) => {
    calls.push(input);
    cpSync(join(tinySd15Dir, 'pipeline'), outDir, { recursive: true });
    if (failAfterCopy) throw new Error('converter failed half-way');
    return { family: 'sd1', prediction: 'epsilon', nativeWidth: 64, nativeHeight: 64, dtype: opts.fp16 ? 'float16' : 'float32', sizeOnDisk: 16_700_000 };
  };
}

const checkpoints = join(tinySd15Dir, 'checkpoints');
const config = join(checkpoints, 'config');

/** A copy of the fixture's single-file checkpoint under another name (the library identifies sources by their bytes). */
function sourceFile(dir: string, name = 'my-model.safetensors'): string {
  const path = join(dir, name);
  copyFileSync(join(checkpoints, 'tiny-sd15.safetensors'), path);
  return path;
}

describe('where the library lives', () => {
  it('takes an explicit folder, then DREAMFRAME_MODELS, then the saved setting, then the data folder', () => {
    const dir = tmp();
    const env = { DREAMFRAME_CONFIG_DIR: join(dir, 'config'), DREAMFRAME_DATA_DIR: join(dir, 'data') };
    expect(modelsDir(undefined, env)).toBe(join(dir, 'data', 'models'));
    setModelsDir(join(dir, 'elsewhere'), env);
    expect(modelsDir(undefined, env)).toBe(join(dir, 'elsewhere'));
    expect(modelsDir(undefined, { ...env, DREAMFRAME_MODELS: join(dir, 'from-env') })).toBe(join(dir, 'from-env'));
    expect(modelsDir(join(dir, 'flag'), { ...env, DREAMFRAME_MODELS: join(dir, 'from-env') })).toBe(join(dir, 'flag'));
  });

  it('refuses a relative folder and a file, naming them', () => {
    const dir = tmp();
    const env = { DREAMFRAME_CONFIG_DIR: join(dir, 'config') };
    expect(() => setModelsDir('models', env)).toThrow(/absolute path, got "models"/);
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => setModelsDir(file, env)).toThrow(`${file} exists and is not a folder`);
  });

  it('names a damaged settings file', () => {
    const dir = tmp();
    const env = { DREAMFRAME_CONFIG_DIR: dir };
    writeFileSync(join(dir, 'model-library.json'), '{"dir": 3}');
    expect(() => modelsDir(undefined, env)).toThrow(`${join(dir, 'model-library.json')}: "dir" must be a folder path`);
  });
});

describe('importing into the library', () => {
  it('lists an imported model with its facts and reuses it when the same bytes are imported again', async () => {
    const dir = tmp();
    const lib = join(dir, 'lib');
    const calls: string[] = [];
    const source = sourceFile(dir);
    const first = await importIntoLibrary(lib, { source, fp16: false, config }, copyingImporter(calls));
    expect(first.reused).toBe(false);
    expect(first.model).toMatchObject({
      id: 'my-model', name: 'my-model.safetensors', family: 'sd1', prediction: 'epsilon', nativeWidth: 64, nativeHeight: 64,
      dtype: 'float32', source, sourceHash: await sha256File(source), dir: join(lib, 'my-model'),
      importOptions: { fp16: false, family: null, prediction: null, config },
    });
    expect(existsSync(join(lib, 'my-model', 'unet', 'model.onnx'))).toBe(true);
    expect(listLibrary(lib).models.map((m) => m.id)).toEqual(['my-model']);

    // A copy of the same file elsewhere is the same model; the converter is not run again.
    const copy = sourceFile(tmp(), 'renamed.safetensors');
    const again = await importIntoLibrary(lib, { source: copy, fp16: false, config }, copyingImporter(calls));
    expect(again).toMatchObject({ reused: true, model: { id: 'my-model' } });
    expect(calls).toEqual([source]);

    // float16, or another prediction type, makes a different model of the same bytes.
    const half = await importIntoLibrary(lib, { source, fp16: true, config }, copyingImporter(calls));
    expect(half.model).toMatchObject({ id: 'my-model-2', dtype: 'float16' });
    const v = await importIntoLibrary(lib, { source, fp16: false, config, prediction: 'v' }, copyingImporter(calls));
    expect(v).toMatchObject({ reused: false, model: { id: 'my-model-3' } });
    expect(calls).toHaveLength(3);
  });

  it('leaves nothing in the library when the conversion fails half-way', async () => {
    const dir = tmp();
    const lib = join(dir, 'lib');
    await expect(importIntoLibrary(lib, { source: sourceFile(dir), fp16: false, config }, copyingImporter([], true)))
      .rejects.toThrow('converter failed half-way');
    expect(readdirSync(lib)).toEqual([]);
    expect(listLibrary(lib).models).toEqual([]);
  });

  it('refuses a file that is no checkpoint before converting anything', async () => {
    const dir = tmp();
    const lib = join(dir, 'lib');
    const junk = join(dir, 'notes.safetensors');
    writeFileSync(junk, 'not really weights');
    const calls: string[] = [];
    await expect(importIntoLibrary(lib, { source: junk, fp16: false }, copyingImporter(calls))).rejects.toThrow(junk);
    expect(calls).toEqual([]);
    expect(existsSync(lib)).toBe(false);
  });

  it('refuses a source that does not exist, naming it', async () => {
    const lib = join(tmp(), 'lib');
    await expect(importIntoLibrary(lib, { source: '/no/such/model.safetensors', fp16: false }, copyingImporter([])))
      .rejects.toThrow('/no/such/model.safetensors does not exist');
  });

  it('removes a model whole, and finds models by the folder render settings store', async () => {
    const dir = tmp();
    const lib = join(dir, 'lib');
    const { model } = await importIntoLibrary(lib, { source: sourceFile(dir), fp16: false, config }, copyingImporter([]));
    expect(libraryModelAt(lib, join(lib, 'my-model', '.'))?.id).toBe('my-model');
    expect(libraryModelAt(lib, join(tinySd15Dir, 'pipeline'))).toBeNull();
    expect(removeFromLibrary(lib, model.id)).toBe(true);
    expect(readdirSync(lib).filter((n) => !n.startsWith('.'))).toEqual([]);
    expect(() => removeFromLibrary(lib, model.id)).toThrow(`no model "my-model" in ${lib}`);
    expect(() => removeFromLibrary(lib, '../etc')).toThrow('not a model id: "../etc"');
  });

  it('reports folders it cannot use instead of failing the listing', async () => {
    const lib = tmp();
    mkdirSync(join(lib, 'hand-copied'));
    mkdirSync(join(lib, 'damaged'));
    writeFileSync(join(lib, 'damaged', MANIFEST_FILE), '{"family": "sd9"}');
    const listing = listLibrary(lib);
    expect(listing.models).toEqual([]);
    expect(listing.problems).toHaveLength(2);
    expect(listing.problems.join('\n')).toContain(`${join(lib, 'damaged', MANIFEST_FILE)}: `);
    expect(listing.problems.join('\n')).toContain(`${join(lib, 'hand-copied')}: no ${MANIFEST_FILE}`);
  });

  it('cleans staging folders of processes that are gone, never those of a live one', () => {
    const lib = tmp();
    mkdirSync(join(lib, '.partial-999999999-dead'));
    mkdirSync(join(lib, `.partial-${process.pid}-mine`));
    mkdirSync(join(lib, '.removing-old-1234'));
    cleanStalePartials(lib);
    expect(readdirSync(lib)).toEqual([`.partial-${process.pid}-mine`]);
  });
});
