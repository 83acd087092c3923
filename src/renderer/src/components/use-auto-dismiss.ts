import { onBeforeUnmount, watch } from 'vue';

/** Clears a status line some seconds after it last changed, so old news does not linger. */
export function useAutoDismiss(text: () => string | null, clear: () => void, ms = 6000): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  watch(text, (value) => {
    clearTimeout(timer);
    if (value) timer = setTimeout(clear, ms);
  });
  onBeforeUnmount(() => clearTimeout(timer));
}
