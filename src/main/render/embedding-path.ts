import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AppError } from '../../shared/errors';
import type { Project } from '../project/project';
import { allEmbeddingRelPaths } from '../style/style-repo';

/**
 * The render settings' `embedding` value. A file inside the project folder (learned or imported
 * embeddings live under assets/styles/<style id>/embeddings/) is stored as a "/"-separated path
 * relative to the project folder, so a moved or copied project still renders with it; a file
 * elsewhere keeps its absolute path. Render jobs resolve the value against the project they run in.
 *
 * Settings written before relative paths hold the absolute path of the project's old location.
 * Those are read tolerantly: when that file is gone and its path ends in one of this project's
 * embedding files (`assets/<embedding.rel_path>`), the project's own copy is used.
 */

function toSlashes(path: string): string {
  return path.split(sep).join('/');
}

/** A relative value that stays inside the project folder once resolved. */
function isInsideProject(projectDir: string, file: string): boolean {
  const rel = relative(projectDir, file);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The project's own embedding file an old absolute path names, if any (matched on `/assets/<rel_path>`). */
function ownEmbeddingNamedBy(project: Project, absolute: string): string | null {
  const path = toSlashes(absolute);
  const hit = allEmbeddingRelPaths(project.db).find((relPath) => path.endsWith(`/assets/${toSlashes(relPath)}`));
  return hit ? `assets/${toSlashes(hit)}` : null;
}

/**
 * The value to store for an embedding file: project-relative when the file is (or, for an old
 * absolute path whose file is gone, was) one of the project's own; otherwise unchanged.
 * Refuses a relative value that leads out of the project folder.
 */
export function embeddingSettingValue(project: Project, value: string | null): string | null {
  if (value === null) return null;
  if (!isAbsolute(value)) {
    if (!isInsideProject(project.dir, resolve(project.dir, value))) {
      throw new AppError('invalid_input', `embedding: ${JSON.stringify(value)} is a relative path leading out of the project folder; give an absolute path for files elsewhere`, { embedding: value });
    }
    return toSlashes(value);
  }
  const file = resolve(value);
  if (isInsideProject(project.dir, file)) return toSlashes(relative(project.dir, file));
  if (!existsSync(file)) return ownEmbeddingNamedBy(project, file) ?? value;
  return value;
}

/**
 * Absolute path of the embedding file a settings value names, in this project. Errors name the
 * stored value and the file looked for.
 */
export function resolveEmbeddingFile(project: Project, value: string): string {
  let file: string;
  if (isAbsolute(value)) {
    file = value;
    if (!existsSync(file)) {
      const own = ownEmbeddingNamedBy(project, file);
      if (own) file = join(project.dir, ...own.split('/'));
    }
  } else {
    file = resolve(project.dir, ...value.split('/'));
    if (!isInsideProject(project.dir, file)) {
      throw new AppError('render.embedding_outside_project', `Render setting embedding ${JSON.stringify(value)} leads out of the project folder ${project.dir}`, { embedding: value });
    }
  }
  if (!existsSync(file)) {
    throw new AppError('render.embedding_missing',
      `Embedding file ${file} is missing (render setting embedding = ${JSON.stringify(value)}); choose the embedding again in the Style panel or set another file`,
      { embedding: value, file });
  }
  return file;
}
