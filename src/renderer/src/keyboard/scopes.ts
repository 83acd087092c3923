import { SCOPES, scopeChain, type ActionId, type Scope } from './keymap';

/** One component's handlers for the actions of one scope, while it is mounted. */
export interface KeyRegistration {
  scope: Scope;
  handlers: Partial<Record<ActionId, () => void>>;
}

/**
 * The scope that gets the keys: the most recently opened modal scope (a dialog, the viewer) if any
 * is open, else the innermost open one (the dock inside the storyboard), else `global`.
 */
export function activeScope(open: readonly KeyRegistration[]): Scope {
  for (let i = open.length - 1; i >= 0; i--) if (SCOPES[open[i].scope].modal) return open[i].scope;
  let best: Scope = 'global';
  for (const r of open) if (scopeChain(r.scope).length > scopeChain(best).length) best = r.scope;
  return best;
}

/**
 * The handler for `action` among the open registrations: the newest one of the action's scope that
 * handles it, so a dialog opened over another dialog closes first.
 */
export function handlerFor(open: readonly KeyRegistration[], scope: Scope, action: ActionId): (() => void) | null {
  for (let i = open.length - 1; i >= 0; i--) {
    const r = open[i];
    if (r.scope === scope && r.handlers[action]) return r.handlers[action]!;
  }
  return null;
}
