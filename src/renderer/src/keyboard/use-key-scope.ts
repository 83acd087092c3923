import { onBeforeUnmount, onMounted } from 'vue';
import { useKeymapStore } from '../stores/keymap';
import { actionFor, actionInfo, isTextTarget, keyName, type ActionsOf, type Scope } from './keymap';
import { activeScope, handlerFor, type KeyRegistration } from './scopes';

/**
 * The app's one `keydown` listener. Components declare what they do in a scope with
 * `useKeyScope(scope, handlers)`; the listener is on the window while any scope is open. A key
 * goes to the active scope (see `activeScope`) and the scopes enclosing it, never to a scope
 * hidden behind a dialog or the viewer.
 */
const open: KeyRegistration[] = [];

function onKeydown(e: KeyboardEvent): void {
  if (e.defaultPrevented || isTextTarget(e.target)) return;
  const action = actionFor(useKeymapStore().map, activeScope(open), keyName(e));
  if (!action) return;
  const handler = handlerFor(open, actionInfo(action).scope, action);
  if (!handler) return;
  e.preventDefault();
  handler();
}

/** Opens `scope` with these handlers while the calling component is mounted. */
export function useKeyScope<S extends Scope>(scope: S, handlers: Partial<Record<ActionsOf<S>, () => void>>): void {
  const registration: KeyRegistration = { scope, handlers };
  onMounted(() => {
    if (open.length === 0) window.addEventListener('keydown', onKeydown);
    open.push(registration);
  });
  onBeforeUnmount(() => {
    const i = open.indexOf(registration);
    if (i >= 0) open.splice(i, 1);
    if (open.length === 0) window.removeEventListener('keydown', onKeydown);
  });
}
