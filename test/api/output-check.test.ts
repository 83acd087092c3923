import { describe, expect, it, vi } from 'vitest';
import { dispatch } from '../../src/main/api/dispatch';
import { AppContext } from '../../src/main/app/context';
import { appWiring } from '../../src/main/composition';

/**
 * Under tests the dispatcher checks every handler's result against the method's output schema, so
 * every API test also checks that the handlers keep the contract.
 */
describe('dispatch output check', () => {
  it('refuses a handler result that does not match the contract, naming the field', async () => {
    const wiring = { ...appWiring, handlers: { ...appWiring.handlers, 'app.info': () => ({ appVersion: 7, mode: 'test', project: null }) } };
    const ctx = new AppContext('test', wiring);
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const out = await dispatch(ctx, 'app.info', {});
    quiet.mockRestore();
    expect(out.ok).toBe(false);
    expect(out.ok ? null : out.error).toMatchObject({ code: 'internal_output_mismatch' });
    expect(out.ok ? '' : out.error.message).toContain('$.appVersion');
  });

  it('passes a conforming result through unchanged', async () => {
    const ctx = new AppContext('test', appWiring);
    const out = await dispatch(ctx, 'app.info', {});
    expect(out).toMatchObject({ ok: true, result: { mode: 'test', project: null } });
  });
});
