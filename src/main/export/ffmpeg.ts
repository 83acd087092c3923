import { spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { AppError } from '../../shared/errors';

/**
 * Static ffmpeg (with libx264) and ffprobe binaries from npm platform packages
 * (@ffmpeg-installer/*, @ffprobe-installer/*): nothing to install on the system, nothing
 * downloaded at install time.
 */

const require = createRequire(import.meta.url);

/** Inside a packaged Electron app the binaries live in app.asar.unpacked. */
function unpacked(path: string): string {
  return path.replace(`app.asar${'/'}`, 'app.asar.unpacked/').replace('app.asar\\', 'app.asar.unpacked\\');
}

/** npm may skip the packages' "chmod u+x" postinstall (ignore-scripts); make the binary runnable. */
function ensureExecutable(path: string): string {
  if (process.platform === 'win32') return path;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    chmodSync(path, statSync(path).mode | 0o111);
  }
  return path;
}

let ffmpegPath: string | null = null;
let ffprobePath: string | null = null;

export function ffmpegBinary(): string {
  if (!ffmpegPath) {
    try {
      ffmpegPath = ensureExecutable(unpacked((require('@ffmpeg-installer/ffmpeg') as { path: string }).path));
    } catch (err) {
      throw new AppError('ffmpeg_missing', `No ffmpeg binary for ${process.platform}-${process.arch}: ${String(err)}`);
    }
  }
  return ffmpegPath;
}

export function ffprobeBinary(): string {
  if (!ffprobePath) {
    try {
      ffprobePath = ensureExecutable(unpacked((require('@ffprobe-installer/ffprobe') as { path: string }).path));
    } catch (err) {
      throw new AppError('ffprobe_missing', `No ffprobe binary for ${process.platform}-${process.arch}: ${String(err)}`);
    }
  }
  return ffprobePath;
}

/** Below this many free bytes a failed or unreadable output is put down to the full disk. */
const DISK_FULL_MARGIN = 256 * 1024;

/**
 * `disk_full` naming `out` when the disk holding it is (nearly) full, else null. ffmpeg's mp4 muxer can exit 0
 * after its last writes failed (the clip then lacks its index: ffprobe says "moov atom not found"), so every
 * failure around an output file asks the disk before blaming ffmpeg.
 */
export function diskFullError(out: string, stderr = ''): AppError | null {
  let free = Number.POSITIVE_INFINITY;
  try {
    const fs = statfsSync(dirname(out));
    free = fs.bavail * fs.bsize;
  } catch {
    // no statfs here: only ffmpeg's own words can tell
  }
  if (!/No space left on device/i.test(stderr) && free >= DISK_FULL_MARGIN) return null;
  return new AppError('disk_full', `No space left on the disk: cannot write ${out} (ENOSPC${Number.isFinite(free) ? `, ${free} bytes free` : ''})`,
    { errno: 'ENOSPC', path: out });
}

/** Runs a binary to completion, collecting stdout; rejects with its stderr on a non-zero exit. */
export function runTool(bin: string, args: string[], signal?: AbortSignal): Promise<string> {
  if (signal?.aborted) return Promise.reject(new AppError('cancelled', 'Export cancelled'));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new AppError('ffmpeg_failed', `${bin}: ${e.message}`));
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(new AppError('cancelled', 'Export cancelled'));
      else if (code === 0) resolvePromise(Buffer.concat(out).toString('utf8'));
      else reject(new AppError('ffmpeg_failed', `${bin} exited with ${code}: ${Buffer.concat(err).toString('utf8').slice(-2000)}`, { args }));
    });
  });
}

/** Output flags shared by every clip: no timestamps or encoder strings that would vary between runs. */
const DETERMINISTIC_MP4 = ['-map_metadata', '-1', '-fflags', '+bitexact', '-flags:v', '+bitexact', '-movflags', '+faststart', '-f', 'mp4'];

export interface EncodeSpec {
  width: number;
  height: number;
  fps: number;
  /** Frames to encode, each raw RGB24 of width × height × 3 bytes, produced one at a time. */
  frames: AsyncIterable<Buffer>;
  out: string;
  signal?: AbortSignal;
}

/**
 * Encodes raw RGB frames to H.264 yuv420p mp4 at a constant frame rate. Single-threaded x264
 * without B-frames: the same input gives the same bytes, and clips can be joined by stream copy.
 */
export function encodeClip(spec: EncodeSpec): Promise<void> {
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${spec.width}x${spec.height}`, '-framerate', String(spec.fps), '-i', 'pipe:0',
    '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-bf', '0', '-threads', '1',
    '-g', String(Math.max(1, spec.fps * 10)), '-pix_fmt', 'yuv420p', '-r', String(spec.fps),
    ...DETERMINISTIC_MP4, spec.out,
  ];
  // An already aborted signal never fires 'abort' again: check it before starting.
  if (spec.signal?.aborted) return Promise.reject(new AppError('cancelled', 'Export cancelled'));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(ffmpegBinary(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(e);
    };
    const onAbort = () => fail(new AppError('cancelled', 'Export cancelled'));
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => fail(new AppError('ffmpeg_failed', `ffmpeg: ${e.message}`)));
    child.stdin.on('error', () => { /* reported through the exit code */ });
    child.on('close', (code) => {
      spec.signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolvePromise();
      else reject(diskFullError(spec.out, stderr) ?? new AppError('ffmpeg_failed', `ffmpeg could not encode ${spec.out} (exit ${code}): ${stderr.slice(-2000)}`));
    });
    (async () => {
      for await (const frame of spec.frames) {
        if (settled) return;
        if (!child.stdin.write(frame)) await new Promise<void>((r) => child.stdin.once('drain', () => r()));
      }
      child.stdin.end();
    })().catch(fail);
  });
}

/** Joins clips of identical size and settings by stream copy (no re-encoding). */
export async function concatClips(listFile: string, out: string, signal?: AbortSignal): Promise<void> {
  try {
    await runTool(ffmpegBinary(), [
      '-hide_banner', '-loglevel', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', listFile,
      '-c', 'copy', ...DETERMINISTIC_MP4, out,
    ], signal);
  } catch (err) {
    throw (err as AppError).code === 'ffmpeg_failed' ? diskFullError(out, (err as Error).message) ?? err : err;
  }
}

/** A line of an ffmpeg concat list naming one file (quotes escaped as the demuxer expects). */
export function concatListLine(path: string): string {
  return `file '${path.replace(/'/g, "'\\''")}'`;
}

export interface ProbeResult {
  codec: string;
  pixFmt: string;
  width: number;
  height: number;
  /** avg_frame_rate as a number (frames per second). */
  fps: number;
  frames: number;
  durationS: number;
}

function ratio(s: string | undefined): number {
  if (!s) return 0;
  const [a, b] = s.split('/').map(Number);
  return b ? a / b : a;
}

/** Reads the video stream of a clip with ffprobe; `countFrames` decodes it to count frames exactly. */
export async function probeClip(path: string, countFrames = false): Promise<ProbeResult> {
  const json = await runTool(ffprobeBinary(), [
    '-v', 'error', '-select_streams', 'v:0', countFrames ? '-count_frames' : '-count_packets',
    '-show_entries', 'stream=codec_name,pix_fmt,width,height,avg_frame_rate,nb_read_frames,nb_read_packets,duration:format=duration',
    '-of', 'json', path,
  ]).catch((err: unknown) => {
    // A clip cut short by a full disk is unreadable ("moov atom not found"): say why.
    throw diskFullError(path) ?? err;
  });
  const parsed = JSON.parse(json) as {
    streams?: { codec_name: string; pix_fmt: string; width: number; height: number; avg_frame_rate: string;
      nb_read_frames?: string; nb_read_packets?: string; duration?: string }[];
    format?: { duration?: string };
  };
  const s = parsed.streams?.[0];
  if (!s) throw new AppError('clip_invalid', `${path} has no video stream`, { path });
  return {
    codec: s.codec_name,
    pixFmt: s.pix_fmt,
    width: s.width,
    height: s.height,
    fps: ratio(s.avg_frame_rate),
    frames: Number(countFrames ? s.nb_read_frames : s.nb_read_packets),
    durationS: Number(s.duration ?? parsed.format?.duration ?? 0),
  };
}
