import { isMethodName, methods } from '../../shared/api/contract';
import { AppError, toErrorPayload, type ApiErrorPayload } from '../../shared/errors';
import { jsonPath } from '../import/json-errors';
import { redactJson, redactSecrets } from '../util/redact-secrets';
import type { AppContext } from '../app/context';

/**
 * Under tests (vitest sets NODE_ENV=test) every handler's result is also checked against the method's
 * output schema, so a handler cannot drift from the contract the renderer is typed against. Off in
 * production: the types already hold there and parsing large storyboards twice would cost time.
 */
const checkOutputs = process.env.NODE_ENV === 'test' || process.env.DREAMFRAME_CHECK_OUTPUTS === '1';

export type DispatchResult = { ok: true; result: unknown } | { ok: false; error: ApiErrorPayload };

/**
 * The single entry point of both transports: checks the method name, validates the input against
 * the contract, runs the handler and maps any failure to `{code, message, details}`.
 */
export async function dispatch(ctx: AppContext, method: unknown, input: unknown): Promise<DispatchResult> {
  if (!isMethodName(method)) {
    return { ok: false, error: { code: 'unknown_method', message: `Unknown API method ${JSON.stringify(method)}` } };
  }
  const parsed = methods[method].input.safeParse(input ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
    return {
      ok: false,
      error: {
        code: 'invalid_input',
        message: `Invalid input for ${method}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        details: { issues },
      },
    };
  }
  try {
    // The composition root checked each handler against its method's types; parsed.data is that input.
    const result = await ctx.wiring.handlers[method](ctx, parsed.data as never);
    if (checkOutputs) {
      const checked = methods[method].output.safeParse(result);
      if (!checked.success) {
        const issues = checked.error.issues.map((i) => ({ path: jsonPath(i.path), message: i.message }));
        console.error(redactSecrets(`[api] ${method} returned what its output schema refuses: ${JSON.stringify(issues)}`));
        throw new AppError('internal_output_mismatch',
          `Output of ${method} does not match the contract: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
      }
    }
    return { ok: true, result };
  } catch (err) {
    // Logs and answers never carry a configured secret (an error text may quote a server's echo of the key).
    if (!(err instanceof AppError)) console.error(redactSecrets(`[api] ${method} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
    return { ok: false, error: JSON.parse(redactJson(toErrorPayload(err))) as ApiErrorPayload };
  }
}
