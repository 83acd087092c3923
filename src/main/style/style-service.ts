import { readFileSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import type {
  EmbeddingInfo, StyleImageInfo, StyleJobInfo, StyleState,
} from '../../shared/api/methods-style';
import { AppError } from '../../shared/errors';
import { getJob } from '../jobs/job-store';
import type { Project } from '../project/project';
import { storeImage } from '../media/image-store';
import { embeddingSettingValue } from '../render/embedding-path';
import { setRenderSettings } from '../render/settings';
import type { StyleEmbedding } from './embedding';
import { readEmbeddingFile, writeEmbeddingFile } from './formats/index';
import { listStyleImages } from './preprocess';
import { mutate } from '../db/mutation';

/**
 * A film's style in the project: one `style` row (keyword = the film's style keyword), its images as
 * content-addressed assets (`style_image` rows, excluded ones kept with included = 0), and learned or
 * imported embeddings under assets/styles/<style id>/. One embedding can be active; making it active also
 * points the film's render settings at its file.
 */

const MIME: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp' };

export const STYLE_LEARN_JOB = 'style.learn';
export const STYLE_GENERATE_JOB = 'style.generate';

interface FilmStyleRow { id: number; style_keyword: string; style_description: string; locations_json: string }

export function filmStyleInfo(project: Project, filmId: number): { keyword: string; description: string; locations: string[] } {
  const film = project.db.prepare<unknown[], FilmStyleRow>(
      'SELECT id, style_keyword, style_description, locations_json FROM film WHERE id = ?').get(filmId);
  if (!film) throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
  return { keyword: film.style_keyword, description: film.style_description, locations: JSON.parse(film.locations_json) as string[] };
}

export function findStyleId(project: Project, filmId: number): number | null {
  const row = project.db.prepare<unknown[], { id: number }>('SELECT id FROM style WHERE film_id = ? ORDER BY id LIMIT 1').get(filmId);
  return row?.id ?? null;
}

/** The film's style row, created on first use; refused while the film has no style keyword. */
export function ensureStyle(project: Project, filmId: number): number {
  const { keyword } = filmStyleInfo(project, filmId);
  const existing = findStyleId(project, filmId);
  if (existing !== null) {
    project.db.prepare('UPDATE style SET keyword = ? WHERE id = ? AND keyword <> ?').run(keyword, existing, keyword);
    return existing;
  }
  if (!keyword.trim()) {
    throw new AppError('style.no_keyword', `Film ${filmId} has no style keyword: set one in the film's details first`, { filmId });
  }
  return Number(project.db.prepare('INSERT INTO style (film_id, keyword) VALUES (?, ?)').run(filmId, keyword).lastInsertRowid);
}

/** Folder of a style's files inside the project's assets (checkpoints, embeddings). */
export function styleDir(project: Project, styleId: number): string {
  return join(project.assetsDir, 'styles', String(styleId));
}

interface ImageRow { id: number; asset_sha256: string; source: 'generated' | 'imported'; position: number; included: number; width: number | null; height: number | null }

function imageFromRow(r: ImageRow): StyleImageInfo {
  return {
    id: r.id, sha256: r.asset_sha256, mediaKey: `asset/${r.asset_sha256}`, source: r.source, position: r.position,
    included: r.included === 1, width: r.width, height: r.height,
  };
}

export function listStyleImageInfos(project: Project, styleId: number): StyleImageInfo[] {
  return project.db.prepare<unknown[], ImageRow>(`SELECT si.id, si.asset_sha256, si.source, si.position, si.included, a.width, a.height
    FROM style_image si JOIN asset a ON a.sha256 = si.asset_sha256 WHERE si.style_id = ? ORDER BY si.position, si.id`)
    .all(styleId).map(imageFromRow);
}

/** Adds one image (stored as an asset); an image already in this style is not added twice. */
export async function addStyleImage(project: Project, styleId: number, bytes: Buffer, mime: string, source: 'generated' | 'imported'):
  Promise<{ added: boolean; id: number }> {
  const stored = await storeImage(project, bytes, mime);
  const db = project.db;
  const existing = db.prepare<unknown[], { id: number }>(
      'SELECT id FROM style_image WHERE style_id = ? AND asset_sha256 = ?').get(styleId, stored.sha256);
  if (existing) return { added: false, id: existing.id };
  const next = (db.prepare<unknown[], { p: number }>(
      'SELECT coalesce(max(position) + 1, 0) AS p FROM style_image WHERE style_id = ?').get(styleId)!).p;
  const id = Number(db.prepare('INSERT INTO style_image (style_id, asset_sha256, source, position) VALUES (?, ?, ?, ?)')
    .run(styleId, stored.sha256, source, next).lastInsertRowid);
  return { added: true, id };
}

/** Imports every JPEG/PNG/WebP under `folder` (recursively; unreadable files are refused by name). */
export async function importStyleFolder(project: Project, filmId: number, folder: string): Promise<{ added: number; skipped: number; styleId: number }> {
  const styleId = ensureStyle(project, filmId);
  const files = await listStyleImages(resolve(folder));
  let added = 0;
  for (const file of files) {
    const r = await addStyleImage(project, styleId, readFileSync(file), MIME[extname(file).toLowerCase()] ?? 'image/png', 'imported');
    if (r.added) added++;
  }
  return { added, skipped: files.length - added, styleId };
}

export function setStyleImageIncluded(project: Project, imageId: number, included: boolean): { image: StyleImageInfo; filmId: number } {
  const row = project.db.prepare<unknown[], { style_id: number; film_id: number }>(
      'SELECT si.style_id, s.film_id FROM style_image si JOIN style s ON s.id = si.style_id WHERE si.id = ?')
    .get(imageId);
  if (!row) throw new AppError('not_found', `No style image with id ${imageId}`, { imageId });
  project.db.prepare('UPDATE style_image SET included = ? WHERE id = ?').run(included ? 1 : 0, imageId);
  return { image: listStyleImageInfos(project, row.style_id).find((i) => i.id === imageId)!, filmId: row.film_id };
}

/** Keeps the settings of the last learning run as the form's starting values. */
export function rememberLearnSettings(project: Project, styleId: number, settings: Record<string, unknown>): void {
  project.db.prepare('UPDATE style SET settings_json = ? WHERE id = ?').run(JSON.stringify(settings), styleId);
}

/** Absolute file paths of the images training should use. */
export function includedImagePaths(project: Project, styleId: number): string[] {
  return project.db.prepare<unknown[], { rel_path: string }>(
      `SELECT a.rel_path FROM style_image si JOIN asset a ON a.sha256 = si.asset_sha256
    WHERE si.style_id = ? AND si.included = 1 ORDER BY si.position, si.id`).all(styleId)
    .map((r) => join(project.assetsDir, r.rel_path));
}

interface EmbeddingRow { id: number; rel_path: string; family: string; steps: number; loss: number | null; active: number; created_at: string }

function embeddingFromRow(project: Project, r: EmbeddingRow): EmbeddingInfo {
  return {
    id: r.id, file: join(project.assetsDir, r.rel_path), family: r.family, steps: r.steps, loss: r.loss,
    active: r.active === 1, createdAt: r.created_at,
  };
}

export function listEmbeddings(project: Project, styleId: number): EmbeddingInfo[] {
  return project.db.prepare<unknown[], EmbeddingRow>('SELECT * FROM embedding WHERE style_id = ? ORDER BY id').all(styleId)
    .map((r) => embeddingFromRow(project, r));
}

/** Writes `embedding` in our format under the style's folder and records it. */
export function saveEmbedding(project: Project, styleId: number, name: string, embedding: StyleEmbedding): EmbeddingInfo {
  const file = join(styleDir(project, styleId), 'embeddings', `${name}.safetensors`);
  writeEmbeddingFile(file, embedding, 'ours');
  const relPath = relative(project.assetsDir, file).split('\\').join('/');
  const id = Number(project.db.prepare('INSERT INTO embedding (style_id, rel_path, family, steps, loss) VALUES (?, ?, ?, ?, ?)')
    .run(styleId, relPath, embedding.family ?? 'unknown', embedding.steps ?? 0, embedding.loss ?? null).lastInsertRowid);
  return embeddingFromRow(project, project.db.prepare<unknown[], EmbeddingRow>('SELECT * FROM embedding WHERE id = ?').get(id)!);
}

/** Imports an embedding file (ours, diffusers, SDXL clip_l/clip_g, release .pt), bound to the film's keyword. */
export function importEmbeddingFile(project: Project, filmId: number, file: string): EmbeddingInfo {
  if (!isAbsolute(file)) throw new AppError('invalid_input', `file: ${JSON.stringify(file)} must be an absolute path`, { file });
  const styleId = ensureStyle(project, filmId);
  const { keyword } = filmStyleInfo(project, filmId);
  const { embedding } = readEmbeddingFile(file, { keyword });
  // The film's keyword is the word its prompts use, whatever the file recorded.
  const bound: StyleEmbedding = { ...embedding, keyword };
  const n = (project.db.prepare<unknown[], { n: number }>('SELECT count(*) AS n FROM embedding WHERE style_id = ?').get(styleId)!).n;
  return saveEmbedding(project, styleId, `imported-${n + 1}-${Date.now()}`, bound);
}

/** Makes an embedding active (null: none) and points the film's render settings at its file (returned absolute). */
export function useEmbedding(project: Project, filmId: number, embeddingId: number | null): { activeEmbeddingId: number | null; renderEmbedding: string | null } {
  const db = project.db;
  const styleId = findStyleId(project, filmId);
  let file: string | null = null;
  if (embeddingId !== null) {
    const row = (styleId === null ? undefined : db.prepare('SELECT * FROM embedding WHERE id = ? AND style_id = ?').get(embeddingId, styleId)) as
      EmbeddingRow | undefined;
    if (!row) throw new AppError('not_found', `No embedding ${embeddingId} in the style of film ${filmId}`, { filmId, embeddingId });
    file = join(project.assetsDir, row.rel_path);
  }
  mutate(db, () => {
    if (styleId !== null) db.prepare('UPDATE embedding SET active = (id = ?) WHERE style_id = ?').run(embeddingId ?? -1, styleId);
    // Stored relative to the project folder, so the setting survives moving or copying the project.
    setRenderSettings(db, filmId, { embedding: embeddingSettingValue(project, file) });
  });
  return { activeEmbeddingId: embeddingId, renderEmbedding: file };
}

/** What the style-learning job records in its checkpoint besides the trainer's own files. */
export interface StyleJobState {
  losses: { step: number; loss: number }[];
  previews: { step: number; sha256: string }[];
  totalSteps: number | null;
  embeddingId: number | null;
}

export function styleJobInfo(project: Project, jobId: number): StyleJobInfo | null {
  const job = getJob(project.db, jobId);
  if (!job) return null;
  const row = project.db.prepare<unknown[], { checkpoint_json: string | null }>('SELECT checkpoint_json FROM job WHERE id = ?').get(jobId)!;
  const state = (row.checkpoint_json ? JSON.parse(row.checkpoint_json) : {}) as Partial<StyleJobState>;
  return {
    job,
    losses: state.losses ?? [],
    previews: (state.previews ?? []).map((p) => ({ ...p, mediaKey: `asset/${p.sha256}` })),
    totalSteps: state.totalSteps ?? null,
    embeddingId: state.embeddingId ?? null,
  };
}

export function getStyleState(project: Project, filmId: number): StyleState {
  const info = filmStyleInfo(project, filmId);
  const styleId = findStyleId(project, filmId);
  const settingsRow = styleId === null ? undefined :
    project.db.prepare<unknown[], { settings_json: string }>('SELECT settings_json FROM style WHERE id = ?').get(styleId);
  const embeddings = styleId === null ? [] : listEmbeddings(project, styleId);
  const latest = project.db.prepare<unknown[], { id: number }>('SELECT id FROM job WHERE film_id = ? AND kind = ? ORDER BY id DESC LIMIT 1')
    .get(filmId, STYLE_LEARN_JOB);
  return {
    filmId,
    styleId,
    keyword: info.keyword,
    description: info.description,
    images: styleId === null ? [] : listStyleImageInfos(project, styleId),
    settings: settingsRow ? (JSON.parse(settingsRow.settings_json) as Record<string, unknown>) : {},
    embeddings,
    activeEmbeddingId: embeddings.find((e) => e.active)?.id ?? null,
    latestJob: latest ? styleJobInfo(project, latest.id) : null,
  };
}
