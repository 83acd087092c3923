/** One sentence for the UI out of anything thrown by a call. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code !== 'internal' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
