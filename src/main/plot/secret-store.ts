import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import { configDir } from './settings';

/**
 * Where the LLM API key lives. Never the project database, never a log line: in Electron it is
 * encrypted with safeStorage into a file in the config folder; in serve/CLI mode it comes from an
 * environment variable (a key set through the API there is held in memory only).
 */
export interface SecretStore {
  get(name: string): string | null;
  set(name: string, value: string | null): void;
}

export class MemorySecretStore implements SecretStore {
  private readonly values = new Map<string, string>();
  get(name: string): string | null {
    return this.values.get(name) ?? null;
  }
  set(name: string, value: string | null): void {
    if (value === null || value === '') this.values.delete(name);
    else this.values.set(name, value);
  }
}

/** The part of Electron's `safeStorage` this store needs (kept structural so Node code never imports electron). */
export interface StringEncryptor {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

/** One encrypted file per secret in `<config>/secrets/`, written atomically. */
export class EncryptedFileSecretStore implements SecretStore {
  constructor(private readonly encryptor: StringEncryptor, private readonly dir = join(configDir(), 'secrets')) {}

  private file(name: string): string {
    return join(this.dir, `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.bin`);
  }

  get(name: string): string | null {
    const f = this.file(name);
    if (!existsSync(f) || !this.encryptor.isEncryptionAvailable()) return null;
    return this.encryptor.decryptString(readFileSync(f));
  }

  set(name: string, value: string | null): void {
    const f = this.file(name);
    if (value === null || value === '') {
      rmSync(f, { force: true });
      return;
    }
    if (!this.encryptor.isEncryptionAvailable()) throw new Error('OS encryption (safeStorage) is not available; the API key was not stored');
    writeFileAtomic(f, this.encryptor.encryptString(value));
  }
}

export const API_KEY_SECRET = 'llm-api-key';

let store: SecretStore = new MemorySecretStore();

/** Electron's main process installs an EncryptedFileSecretStore over safeStorage at startup. */
export function setSecretStore(s: SecretStore): void {
  store = s;
}

export function secretStore(): SecretStore {
  return store;
}

/** The key to send: the stored one, else the configured environment variable; null when neither. */
export function resolveApiKey(apiKeyEnv: string, env: NodeJS.ProcessEnv = process.env): { key: string | null; source: 'store' | 'env' | 'none' } {
  const stored = store.get(API_KEY_SECRET);
  if (stored) return { key: stored, source: 'store' };
  const fromEnv = env[apiKeyEnv];
  if (fromEnv) return { key: fromEnv, source: 'env' };
  return { key: null, source: 'none' };
}
