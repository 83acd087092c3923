import type Database from 'better-sqlite3';
import { filmQuality } from './film-quality';
import { getQualityScore } from './repo';

/** What the export takes from the quality area: the film's stored metrics and its currently flagged frames. */

export interface FilmQualityMetrics {
  clipScore: number | null;
  lpips: number | null;
  descriptionClipScore: number | null;
  frames: number;
  scoredFrames: number;
  pairs: number;
  flagged: number;
  computedAt: string;
}

/** The means the last `quality.score` job stored (null: never scored). */
export function filmQualityMetrics(db: Database.Database, filmId: number): FilmQualityMetrics | null {
  const row = getQualityScore(db, filmId);
  if (!row) return null;
  const { film } = JSON.parse(row.summaryJson) as { film: Omit<FilmQualityMetrics, 'computedAt'> };
  return {
    clipScore: film.clipScore, lpips: film.lpips, descriptionClipScore: film.descriptionClipScore,
    frames: film.frames, scoredFrames: film.scoredFrames, pairs: film.pairs, flagged: film.flagged, computedAt: row.computedAt,
  };
}

/** Frames flagged now (scores from the caches, current keyframes); empty when the film was never scored. */
export function flaggedFrameIds(db: Database.Database, filmId: number): Set<number> {
  const q = filmQuality(db, filmId);
  return new Set(q ? q.frames.filter((f) => f.flags.length > 0).map((f) => f.frameId) : []);
}
