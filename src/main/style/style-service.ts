import { readFileSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import type {
  EmbeddingInfo, StyleImageInfo, StyleJobInfo, StyleState,
} from '../../shared/api/methods-style';
import { AppError } from '../../shared/errors';
import { getJob, jobCheckpoint, latestJobId } from '../jobs/job-store';
import type { Project } from '../project/project';
import { storeImage } from '../media/image-store';
import { embeddingSettingValue } from '../render/embedding-path';
import { setRenderSettings } from '../render/settings';
import type { StyleEmbedding } from './embedding';
import { readEmbeddingFile, writeEmbeddingFile } from './formats/index';
import { listStyleImages } from './preprocess';
import {
  activateEmbedding, countEmbeddings, filmStyleRow, findStyleId as findStyleRow, getEmbedding, includedImageRelPaths, insertEmbedding,
  insertStyle, insertStyleImage, listEmbeddings as listEmbeddingRows, listStyleImages as listStyleImageRows, setImageIncluded,
  setStyleSettings, styleImageOwner, styleSettings, syncStyleKeyword,
} from './style-repo';
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

export function filmStyleInfo(project: Project, filmId: number): { keyword: string; description: string; locations: string[] } {
  const film = filmStyleRow(project.db, filmId);
  if (!film) throw new AppError('not_found', `No film with id ${filmId}`, { filmId });
  return { keyword: film.style_keyword, description: film.style_description, locations: JSON.parse(film.locations_json) as string[] };
}

export function findStyleId(project: Project, filmId: number): number | null {
  return findStyleRow(project.db, filmId);
}

/** The film's style row, created on first use; refused while the film has no style keyword. */
export function ensureStyle(project: Project, filmId: number): number {
  const { keyword } = filmStyleInfo(project, filmId);
  const existing = findStyleId(project, filmId);
  if (existing !== null) {
    syncStyleKeyword(project.db, existing, keyword);
    return existing;
  }
  if (!keyword.trim()) {
    throw new AppError('style.no_keyword', `Film ${filmId} has no style keyword: set one in the film's details first`, { filmId });
  }
  return insertStyle(project.db, filmId, keyword);
}

/** Folder of a style's files inside the project's assets (checkpoints, embeddings). */
export function styleDir(project: Project, styleId: number): string {
  return join(project.assetsDir, 'styles', String(styleId));
}

export function listStyleImageInfos(project: Project, styleId: number): StyleImageInfo[] {
  return listStyleImageRows(project.db, styleId);
}

/** Adds one image (stored as an asset); an image already in this style is not added twice. */
export async function addStyleImage(project: Project, styleId: number, bytes: Buffer, mime: string, source: 'generated' | 'imported'):
  Promise<{ added: boolean; id: number }> {
  const stored = await storeImage(project, bytes, mime);
  return insertStyleImage(project.db, styleId, stored.sha256, source);
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
  const owner = styleImageOwner(project.db, imageId);
  if (!owner) throw new AppError('not_found', `No style image with id ${imageId}`, { imageId });
  setImageIncluded(project.db, imageId, included);
  return { image: listStyleImageInfos(project, owner.styleId).find((i) => i.id === imageId)!, filmId: owner.filmId };
}

/** Keeps the settings of the last learning run as the form's starting values. */
export function rememberLearnSettings(project: Project, styleId: number, settings: Record<string, unknown>): void {
  setStyleSettings(project.db, styleId, settings);
}

/** Absolute file paths of the images training should use. */
export function includedImagePaths(project: Project, styleId: number): string[] {
  return includedImageRelPaths(project.db, styleId).map((rel) => join(project.assetsDir, rel));
}

export function listEmbeddings(project: Project, styleId: number): EmbeddingInfo[] {
  return listEmbeddingRows(project.db, project.assetsDir, styleId);
}

/** Writes `embedding` in our format under the style's folder and records it. */
export function saveEmbedding(project: Project, styleId: number, name: string, embedding: StyleEmbedding): EmbeddingInfo {
  const file = join(styleDir(project, styleId), 'embeddings', `${name}.safetensors`);
  writeEmbeddingFile(file, embedding, 'ours');
  const relPath = relative(project.assetsDir, file).split('\\').join('/');
  return insertEmbedding(project.db, project.assetsDir, styleId,
    { relPath, family: embedding.family ?? 'unknown', steps: embedding.steps ?? 0, loss: embedding.loss ?? null });
}

/** Imports an embedding file (ours, diffusers, SDXL clip_l/clip_g, release .pt), bound to the film's keyword. */
export function importEmbeddingFile(project: Project, filmId: number, file: string): EmbeddingInfo {
  if (!isAbsolute(file)) throw new AppError('invalid_input', `file: ${JSON.stringify(file)} must be an absolute path`, { file });
  const styleId = ensureStyle(project, filmId);
  const { keyword } = filmStyleInfo(project, filmId);
  const { embedding } = readEmbeddingFile(file, { keyword });
  // The film's keyword is the word its prompts use, whatever the file recorded.
  const bound: StyleEmbedding = { ...embedding, keyword };
  return saveEmbedding(project, styleId, `imported-${countEmbeddings(project.db, styleId) + 1}-${Date.now()}`, bound);
}

/** Makes an embedding active (null: none) and points the film's render settings at its file (returned absolute). */
export function useEmbedding(project: Project, filmId: number, embeddingId: number | null): { activeEmbeddingId: number | null; renderEmbedding: string | null } {
  const db = project.db;
  const styleId = findStyleId(project, filmId);
  let file: string | null = null;
  if (embeddingId !== null) {
    const embedding = styleId === null ? undefined : getEmbedding(db, project.assetsDir, styleId, embeddingId);
    if (!embedding) throw new AppError('not_found', `No embedding ${embeddingId} in the style of film ${filmId}`, { filmId, embeddingId });
    file = embedding.file;
  }
  mutate(db, () => {
    if (styleId !== null) activateEmbedding(db, styleId, embeddingId);
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
  const state = (jobCheckpoint(project.db, jobId) ?? {}) as Partial<StyleJobState>;
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
  const settings = styleId === null ? null : styleSettings(project.db, styleId);
  const embeddings = styleId === null ? [] : listEmbeddings(project, styleId);
  const latest = latestJobId(project.db, STYLE_LEARN_JOB, filmId);
  return {
    filmId,
    styleId,
    keyword: info.keyword,
    description: info.description,
    images: styleId === null ? [] : listStyleImageInfos(project, styleId),
    settings: settings ?? {},
    embeddings,
    activeEmbeddingId: embeddings.find((e) => e.active)?.id ?? null,
    latestJob: latest !== null ? styleJobInfo(project, latest) : null,
  };
}
