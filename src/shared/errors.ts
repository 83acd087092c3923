/**
 * The one error shape that crosses every boundary (IPC, WebSocket, CLI --json):
 * a stable machine-readable code, a human sentence, and optional structured details.
 */
export interface ApiErrorPayload {
  code: string;
  message: string;
  details?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly details?: unknown;

  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  toPayload(): ApiErrorPayload {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * Conditions of the machine rather than of our code, named the same wherever they are met (a file write,
 * SQLite, a child process): a full disk and a folder we may not write are things the user can fix.
 */
const SYSTEM_CONDITIONS: Record<string, { code: string; what: string }> = {
  ENOSPC: { code: 'disk_full', what: 'no space left on the disk' },
  EDQUOT: { code: 'disk_full', what: 'the disk quota is used up' },
  SQLITE_FULL: { code: 'disk_full', what: 'no space left on the disk holding the project database' },
  EROFS: { code: 'not_writable', what: 'the file system is read-only' },
  EACCES: { code: 'not_writable', what: 'permission denied' },
  EPERM: { code: 'not_writable', what: 'operation not permitted' },
  SQLITE_READONLY: { code: 'not_writable', what: 'the project database cannot be written' },
};

/** Node's errno errors carry the path and the call; SQLite's carry only a code. */
function systemCondition(err: Error): ApiErrorPayload | null {
  const { code, path, dest, syscall } = err as Error & { code?: unknown; path?: unknown; dest?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return null;
  const known = SYSTEM_CONDITIONS[code] ?? (code.startsWith('SQLITE_READONLY') ? SYSTEM_CONDITIONS.SQLITE_READONLY : null);
  if (!known) return null;
  const where = typeof path === 'string' ? path : null;
  const message = `${known.what}${where ? `: cannot write ${where}${typeof dest === 'string' ? ` → ${dest}` : ''}` : ''} (${code}${typeof syscall === 'string' ? `, ${syscall}` : ''})`;
  const details: Record<string, unknown> = { errno: code };
  if (where) details.path = where;
  return { code: known.code, message: message.charAt(0).toUpperCase() + message.slice(1), details };
}

/** Maps anything thrown to the wire shape; a full or read-only disk gets its own code; other unknown errors become `internal`. */
export function toErrorPayload(err: unknown): ApiErrorPayload {
  if (err instanceof AppError) return err.toPayload();
  if (err instanceof Error) return systemCondition(err) ?? { code: 'internal', message: err.message };
  return { code: 'internal', message: String(err) };
}
