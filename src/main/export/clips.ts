import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { AppError } from '../../shared/errors';
import { readMedia } from '../media/media-service';
import type { Project } from '../project/project';
import { writeFileAtomic } from '../util/atomic-write';
import { concatClips, concatListLine, encodeClip, probeClip } from './ffmpeg';
import { safeSegment, type ExportFolder } from './safe-paths';
import type { ExportFilm, ExportFrame, ExportLine } from './selection';

/**
 * One H.264 clip per subchapter, chapter and film. Every keyframe is held for one second at `fps`
 * frames per second (LLaMA-VID samples one frame per second, so each keyframe is seen exactly
 * once). Subchapter clips are encoded from the pictures; chapter and film clips join the
 * subchapter clips by stream copy. A clip whose inputs hash to the value recorded in the export
 * folder's state file, and whose file is unchanged, is reused as it is.
 */

/** Bump when encoder settings change so that old clips are re-encoded. */
export const CLIP_ENCODER_VERSION = 1;
export const STATE_FILE = 'dreamframe-state/clips.json';
/**
 * Every clip lies directly in this folder under a flat name, `<film-dir>_<scope stem>.mp4`: Video-ChatGPT's
 * scripts write `<output_dir>/<video_name>.json` (a "/" in the name fails there) and LLaMA-VID's feature
 * extractor writes `<feat_dir>/<basename>.pkl` (nested names would collide on "film.pkl").
 */
export const CLIPS_DIR = 'videos';

/** The flat file stem of a clip: no folder, no extension. */
export function clipStem(relPath: string): string {
  return relPath.slice(relPath.lastIndexOf('/') + 1).replace(/\.mp4$/, '');
}

export interface ClipSettings {
  fps: number;
  /** Longest side in pixels; pictures are letterboxed into the film's first picture's shape. */
  maxSize: number;
  /** False when no clip will be encoded: paths only, without reading any picture. */
  measure?: boolean;
}

export interface ClipRecord {
  inputHash: string;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  fps: number;
  frames: number;
  keyframes: number;
}

interface ClipState { version: 1; clips: Record<string, ClipRecord> }

export interface PlannedClip {
  relPath: string;
  scope: 'subchapter' | 'chapter' | 'film';
  keyframes: ExportFrame[];
  /** For chapter and film clips: the subchapter clips joined, in order. */
  parts: PlannedClip[];
  inputHash: string;
  /** Dialogue lines placed on this clip's keyframe slots (slot = keyframe index). */
  lines: { slot: number; line: ExportLine }[];
}

export interface FilmClips {
  width: number;
  height: number;
  subchapters: Map<number, PlannedClip>;
  chapters: Map<number, PlannedClip>;
  film: PlannedClip | null;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Picture bytes of a frame: the keyframe render file, or the generated placeholder card. */
async function pictureBytes(project: Project, frame: ExportFrame): Promise<Buffer> {
  if (frame.render) {
    const file = join(project.assetsDir, frame.render.relPath);
    try {
      return readFileSync(file);
    } catch (err) {
      throw new AppError('asset_missing', `Keyframe of frame ${frame.id} is missing: ${file} (${(err as Error).message})`, { frameId: frame.id, file });
    }
  }
  return (await readMedia(project, 'full', `frame/${frame.id}`)).bytes;
}

const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/** Clip size of a film: its first picture's shape scaled to fit maxSize, both sides even. */
async function filmClipSize(project: Project, first: ExportFrame, maxSize: number): Promise<{ width: number; height: number }> {
  const meta = await sharp(await pictureBytes(project, first)).metadata();
  const w = meta.width ?? maxSize;
  const h = meta.height ?? maxSize;
  const scale = Math.min(1, maxSize / Math.max(w, h));
  return { width: even(w * scale), height: even(h * scale) };
}

/** A dialogue line after k frames belongs to the k-th keyframe's second (lines before the first frame to the first). */
function slotOf(line: ExportLine): number {
  return Math.max(line.afterFrame - 1, 0);
}

export async function planFilmClips(project: Project, film: ExportFilm, settings: ClipSettings): Promise<FilmClips> {
  const first = film.chapters.flatMap((c) => c.subchapters.flatMap((s) => s.frames))[0];
  const empty: FilmClips = { width: 0, height: 0, subchapters: new Map(), chapters: new Map(), film: null };
  if (!first) return empty;
  const { width, height } = settings.measure === false ? { width: 0, height: 0 } : await filmClipSize(project, first, settings.maxSize);
  const base = { v: CLIP_ENCODER_VERSION, width, height, fps: settings.fps };
  const clipPath = (stem: string) => `${CLIPS_DIR}/${safeSegment(`${film.dirName}_${stem}.mp4`)}`;
  const subchapters = new Map<number, PlannedClip>();
  const chapters = new Map<number, PlannedClip>();

  const joined = (relPath: string, scope: 'chapter' | 'film', parts: PlannedClip[]): PlannedClip => {
    let offset = 0;
    const lines: PlannedClip['lines'] = [];
    for (const p of parts) {
      for (const l of p.lines) lines.push({ slot: l.slot + offset, line: l.line });
      offset += p.keyframes.length;
    }
    return {
      relPath, scope, parts, lines,
      keyframes: parts.flatMap((p) => p.keyframes),
      inputHash: sha256(JSON.stringify({ ...base, join: parts.map((p) => p.inputHash) })),
    };
  };

  const allParts: PlannedClip[] = [];
  for (const ch of film.chapters) {
    const parts: PlannedClip[] = [];
    for (const sub of ch.subchapters) {
      if (sub.frames.length === 0) continue;
      const clip: PlannedClip = {
        relPath: clipPath(sub.stem),
        scope: 'subchapter',
        keyframes: sub.frames,
        parts: [],
        inputHash: sha256(JSON.stringify({ ...base, pictures: sub.frames.map((f) => f.pictureKey) })),
        lines: sub.dialogue.map((line) => ({ slot: slotOf(line), line })),
      };
      subchapters.set(sub.id, clip);
      parts.push(clip);
    }
    if (parts.length > 0) chapters.set(ch.id, joined(clipPath(ch.stem), 'chapter', parts));
    allParts.push(...parts);
  }
  return { width, height, subchapters, chapters, film: joined(clipPath('film'), 'film', allParts) };
}

function loadState(folder: ExportFolder): ClipState {
  const file = folder.path(STATE_FILE);
  if (!existsSync(file)) return { version: 1, clips: {} };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as ClipState;
    return parsed.version === 1 && parsed.clips ? parsed : { version: 1, clips: {} };
  } catch {
    return { version: 1, clips: {} };
  }
}

export interface ClipProgress {
  /** Called after each clip with the number of keyframes it covered and whether it was reused. */
  onClip?(clip: PlannedClip, reused: boolean): void;
  onFrame?(): void;
  signal?: AbortSignal;
}

/** Encodes (or reuses) clips, keeping the export folder's state file current after every clip. */
export class ClipWriter {
  private readonly state: ClipState;
  encoded = 0;
  reused = 0;

  constructor(private readonly project: Project, private readonly folder: ExportFolder, private readonly settings: ClipSettings) {
    this.state = loadState(folder);
  }

  /** Every clip the state file records (written by an earlier or this export), with its sha256. */
  recordedClips(): { path: string; sha256: string }[] {
    return Object.entries(this.state.clips).map(([path, rec]) => ({ path, sha256: rec.sha256 }));
  }

  /** Drops the records of clips that were removed from the folder. */
  forget(relPaths: string[]): void {
    const known = relPaths.filter((p) => p in this.state.clips);
    if (known.length === 0) return;
    for (const p of known) delete this.state.clips[p];
    this.saveState();
  }

  private saveState(): void {
    writeFileAtomic(this.folder.path(STATE_FILE), `${JSON.stringify(this.state, null, 1)}\n`);
  }

  /** Clip record if the file on disk still matches what was recorded for these inputs. */
  private reusable(clip: PlannedClip): ClipRecord | null {
    const rec = this.state.clips[clip.relPath];
    if (!rec || rec.inputHash !== clip.inputHash) return null;
    const file = this.folder.path(clip.relPath);
    if (!existsSync(file) || statSync(file).size !== rec.bytes) return null;
    return sha256(readFileSync(file)) === rec.sha256 ? rec : null;
  }

  private tmpPath(clip: PlannedClip): string {
    return this.folder.path(`dreamframe-state/tmp/${sha256(clip.relPath).slice(0, 16)}.mp4`);
  }

  async write(clip: PlannedClip, size: { width: number; height: number }, hooks: ClipProgress): Promise<ClipRecord> {
    const existing = this.reusable(clip);
    if (existing) {
      this.reused++;
      hooks.onClip?.(clip, true);
      return existing;
    }
    if (hooks.signal?.aborted) throw new AppError('cancelled', 'Export cancelled');
    const target = this.folder.path(clip.relPath);
    const tmp = this.tmpPath(clip);
    const { fps } = this.settings;
    try {
      if (clip.scope === 'subchapter') {
        const project = this.project;
        async function* frames(): AsyncGenerator<Buffer> {
          for (const f of clip.keyframes) {
            const raw = await sharp(await pictureBytes(project, f))
              .resize(size.width, size.height, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 1 } })
              .removeAlpha().toColourspace('srgb').raw().toBuffer();
            for (let i = 0; i < fps; i++) yield raw;
            hooks.onFrame?.();
          }
        }
        await encodeClip({ ...size, fps, frames: frames(), out: tmp, signal: hooks.signal });
      } else {
        const list = this.folder.path(`dreamframe-state/tmp/${sha256(clip.relPath).slice(0, 16)}.txt`);
        writeFileAtomic(list, `${clip.parts.map((p) => concatListLine(this.folder.path(p.relPath))).join('\n')}\n`);
        await concatClips(list, tmp, hooks.signal);
        rmSync(list, { force: true });
      }
      const probe = await probeClip(tmp);
      const expected = clip.keyframes.length * fps;
      if (probe.frames !== expected || probe.fps < 1 || probe.pixFmt !== 'yuv420p') {
        throw new AppError('clip_invalid', `${clip.relPath}: ffprobe reports ${probe.frames} frames at ${probe.fps} fps (${probe.pixFmt}); expected ${expected} at ${fps} fps yuv420p`, { probe, expected });
      }
      renameSync(tmp, target);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    const bytes = readFileSync(target);
    const rec: ClipRecord = {
      inputHash: clip.inputHash, sha256: sha256(bytes), bytes: bytes.length,
      width: size.width, height: size.height, fps, frames: clip.keyframes.length * fps, keyframes: clip.keyframes.length,
    };
    this.state.clips[clip.relPath] = rec;
    this.saveState();
    this.encoded++;
    hooks.onClip?.(clip, false);
    return rec;
  }
}

export interface QueuedClip {
  clip: PlannedClip;
  size: { width: number; height: number };
}

export interface ParallelClipHooks extends ClipProgress {
  /** Clips encoded side by side (default: os.availableParallelism()). */
  concurrency?: number;
}

/**
 * Encodes (or reuses) a queue of clips, up to `concurrency` at a time. Subchapter clips are
 * independent; a chapter or film clip starts once the clips it joins are finished (they come earlier
 * in the queue, so they are already under way). Every x264 run is single-threaded, so a clip's bytes
 * do not depend on how many run beside it. The first failure stops new clips from starting; the
 * ones under way finish (their records stay valid) and the failure is thrown. Records come back in
 * queue order.
 */
export async function writeClips(writer: ClipWriter, queue: QueuedClip[], hooks: ParallelClipHooks = {}): Promise<Map<string, ClipRecord>> {
  const limit = Math.max(1, Math.min(queue.length, hooks.concurrency ?? availableParallelism()));
  const started = new Map<string, Promise<ClipRecord>>();
  const results: ClipRecord[] = new Array<ClipRecord>(queue.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (next < queue.length && !failure) {
      const i = next++;
      const { clip, size } = queue[i];
      const task = (async () => {
        await Promise.all(clip.parts.map((part) => started.get(part.relPath)));
        return writer.write(clip, size, hooks);
      })();
      // Joined clips await this promise too; a failure is reported once, below.
      task.catch(() => undefined);
      started.set(clip.relPath, task);
      try {
        results[i] = await task;
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failure) throw (failure as { error: unknown }).error;
  return new Map(queue.map(({ clip }, i) => [clip.relPath, results[i]]));
}

const srtTime = (ms: number) => {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)},${pad(ms % 1000, 3)}`;
};

export function lineText(line: ExportLine): string {
  return line.speaker ? `${line.speaker}: ${line.text}` : line.text;
}

/**
 * SubRip subtitles for a clip: each keyframe is one second long; the lines that follow a keyframe
 * share its second in story order.
 */
export function clipSubtitles(clip: PlannedClip): string {
  const bySlot = new Map<number, ExportLine[]>();
  for (const { slot, line } of clip.lines) bySlot.set(slot, [...(bySlot.get(slot) ?? []), line]);
  const cues: string[] = [];
  for (const slot of [...bySlot.keys()].sort((a, b) => a - b)) {
    const lines = bySlot.get(slot)!;
    const share = Math.floor(1000 / lines.length);
    lines.forEach((line, i) => {
      const start = slot * 1000 + i * share;
      const end = i === lines.length - 1 ? (slot + 1) * 1000 : start + share;
      cues.push(`${cues.length + 1}\n${srtTime(start)} --> ${srtTime(end)}\n${lineText(line).replace(/\r?\n/g, ' ')}\n`);
    });
  }
  return cues.join('\n');
}

/**
 * The long-video text input (LLaMA-VID's `inputs`): one "<image>" per keyframe, each followed by
 * the dialogue lines spoken during its second.
 */
export function longVideoInputs(clip: PlannedClip): string {
  const bySlot = new Map<number, string[]>();
  for (const { slot, line } of clip.lines) bySlot.set(slot, [...(bySlot.get(slot) ?? []), lineText(line)]);
  return clip.keyframes.map((_, i) => `<image>${(bySlot.get(i) ?? []).join(' ')}`).join('');
}
