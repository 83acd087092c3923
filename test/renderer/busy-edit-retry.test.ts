import { afterEach, describe, expect, it, vi } from 'vitest';
import { ref } from 'vue';
import { ApiCallError } from '../../src/shared/api/client';
import { errorReporter } from '../../src/renderer/src/stores/errors';

/** The renderer side of a busy database: an edit refused with db_busy is kept and sent again, not dropped. */
describe('an edit refused because another process is writing', () => {
  afterEach(() => vi.useRealTimers());

  it('shows "saving… another process is writing" and retries until it lands', async () => {
    vi.useFakeTimers();
    const field = ref<string | null>(null);
    const report = errorReporter(field);
    const busy = () => new ApiCallError({ code: 'db_busy', message: 'Another process is writing to this project' });
    const call = vi.fn()
      .mockRejectedValueOnce(busy())
      .mockRejectedValueOnce(busy())
      .mockResolvedValueOnce({ id: 7, description: 'kept' });
    const done = report.attempt('save the frame', call);
    await vi.advanceTimersByTimeAsync(0);
    expect(call).toHaveBeenCalledTimes(1);
    expect(field.value).toMatch(/^Saving… another process is writing/);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(await done).toEqual({ id: 7, description: 'kept' });
    expect(call).toHaveBeenCalledTimes(3);
    expect(field.value).toBeNull();
  });

  it('other failures are reported at once, as before', async () => {
    const field = ref<string | null>(null);
    const call = vi.fn().mockRejectedValue(new ApiCallError({ code: 'not_found', message: 'No frame 9' }));
    expect(await errorReporter(field).attempt('save the frame', call)).toBeUndefined();
    expect(call).toHaveBeenCalledTimes(1);
    expect(field.value).toBe('Could not save the frame: No frame 9 (not_found)');
  });
});
