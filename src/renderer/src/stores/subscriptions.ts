import { onScopeDispose } from 'vue';

/**
 * The event subscriptions a store holds (API events, connection changes): kept until `release()`
 * (a film switch) and released when the store is disposed.
 */
export function ownedSubscriptions(): { hold: (...offs: (() => void)[]) => void; release: () => void } {
  let offs: (() => void)[] = [];
  const release = (): void => {
    for (const off of offs) off();
    offs = [];
  };
  onScopeDispose(release);
  return { hold: (...more) => void offs.push(...more), release };
}
