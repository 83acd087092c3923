import type Database from 'better-sqlite3';
import type { RenderScope, RenderSettings } from '../../shared/api/methods-render';
import { AppError } from '../../shared/errors';
import { DEFAULT_NEGATIVE_PROMPT } from './prompt';
import { chapterIdsInOrder, filmFrameRows, subchapterIdsInOrder } from './render-repo';

/** Frames to render, in film order, each with its index in the whole film (the seed policy uses it). */

export interface FrameToRender { frameId: number; filmIndex: number; description: string }
interface OrderedFrame extends FrameToRender { subchapterId: number; chapterId: number }

export function filmFramesInOrder(db: Database.Database, filmId: number): OrderedFrame[] {
  return filmFrameRows(db, filmId).map((r, i) => ({ frameId: r.frameId, filmIndex: i, description: r.description, subchapterId: r.subchapterId, chapterId: r.chapterId }));
}

export function framesInScope(db: Database.Database, filmId: number, scope: RenderScope): FrameToRender[] {
  const all = filmFramesInOrder(db, filmId);
  let picked: typeof all;
  switch (scope.kind) {
    case 'film': picked = all; break;
    case 'chapter': picked = all.filter((f) => f.chapterId === scope.chapterId); break;
    case 'subchapter': picked = all.filter((f) => f.subchapterId === scope.subchapterId); break;
    case 'frames': {
      const wanted = new Set(scope.frameIds);
      picked = all.filter((f) => wanted.has(f.frameId));
      const missing = scope.frameIds.filter((id) => !picked.some((f) => f.frameId === id));
      if (missing.length) throw new AppError('not_found', `Frame(s) ${missing.join(', ')} are not in film ${filmId}`, { filmId, missing });
      break;
    }
  }
  if (picked.length === 0 && scope.kind !== 'film') {
    throw new AppError('not_found', `No frames in ${scope.kind} ${JSON.stringify(scope)} of film ${filmId}`, { filmId, scope });
  }
  return picked.map(({ frameId, filmIndex, description }) => ({ frameId, filmIndex, description }));
}

/** Resolves "chapter:N" / "subchapter:N.M" (1-based positions as shown in the UI) to a scope. */
export function parseScopeSpec(db: Database.Database, filmId: number, spec: string | undefined): RenderScope {
  if (!spec || spec === 'film') return { kind: 'film' };
  const ch = /^chapter:(\d+)$/.exec(spec);
  const sub = /^subchapter:(\d+)\.(\d+)$/.exec(spec);
  const chapters = chapterIdsInOrder(db, filmId);
  const n = Number((ch ?? sub)?.[1]);
  if ((!ch && !sub) || n < 1) {
    throw new AppError('invalid_input', `--scope "${spec}": expected chapter:N or subchapter:N.M (1-based)`, { spec });
  }
  const chapter = chapters[n - 1];
  if (chapter === undefined) throw new AppError('not_found', `--scope "${spec}": film ${filmId} has ${chapters.length} chapter(s)`, { spec });
  if (ch) return { kind: 'chapter', chapterId: chapter };
  const subs = subchapterIdsInOrder(db, chapter);
  const m = Number(sub![2]);
  const s = subs[m - 1];
  if (s === undefined || m < 1) throw new AppError('not_found', `--scope "${spec}": chapter ${n} has ${subs.length} subchapter(s)`, { spec });
  return { kind: 'subchapter', subchapterId: s };
}

// The frame prompt is the story's (src/main/story/frame-prompt.ts); re-exported for the render job.
export { filmKeyword, framePrompt } from '../story/frame-prompt';

export function negativePromptOf(settings: RenderSettings): string {
  return settings.negativePrompt ?? DEFAULT_NEGATIVE_PROMPT;
}

/** Seed policy of the release: base seed + frame index; variant v adds v × 100003 so variants never meet a neighbour's seed. */
export function seedFor(settings: RenderSettings, filmIndex: number, variant: number): number {
  return (settings.baseSeed + filmIndex + variant * 100_003) % 2 ** 32;
}
