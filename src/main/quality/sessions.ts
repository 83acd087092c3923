import { AppError } from '../../shared/errors';
import { providerCandidates, type ProviderName, type ProviderRequest } from '../diffusion/runtime/providers';
import { openModelSession, type ModelSession } from '../diffusion/runtime/session';

/**
 * Opens a metric model's sessions on the first execution provider of `request` that loads them all ('cpu' by
 * default; 'auto' tries the accelerators onnxruntime lists, then CPU), as the diffusion loader does.
 * Every fallback is reported through `warn`.
 */
export async function openOnProvider(
  files: string[],
  request: ProviderRequest = 'cpu',
  threads?: number,
  warn: (message: string) => void = () => {},
): Promise<{ provider: ProviderName; sessions: ModelSession[] }> {
  let lastError: unknown;
  for (const provider of providerCandidates(request)) {
    const sessions: ModelSession[] = [];
    try {
      for (const file of files) sessions.push(await openModelSession(file, provider, { threads }));
      return { provider, sessions };
    } catch (err) {
      await Promise.all(sessions.map((s) => s.session.release()));
      lastError = err;
      if (provider !== 'cpu') warn(`execution provider ${provider} failed (${(err as Error).message}); falling back`);
    }
  }
  throw lastError instanceof AppError ? lastError : new AppError('quality.session_failed', `${files.join(', ')}: ${(lastError as Error)?.message ?? 'no execution provider could load the model'}`);
}
