import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../shared/errors';
import { writeFileAtomic } from '../util/atomic-write';
import { registerSecret } from '../util/redact-secrets';
import { configDir } from './settings';

/**
 * Where the LLM API key lives. Never the project database, never a log line: in Electron it is
 * encrypted with safeStorage (the OS keychain) into a file in the config folder; in serve/CLI mode it
 * is encrypted with AES-256-GCM under a per-user key file (`<config>/secrets/.key`, mode 0600), so a
 * key set through the API survives a restart without ever being on disk in plain text. An environment
 * variable still works in both (the stored key wins).
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
    let value: string;
    try {
      value = this.encryptor.decryptString(readFileSync(f));
    } catch (err) {
      throw new AppError('secret_unreadable', `${f} cannot be decrypted (${(err as Error).message}); set the API key again`, { file: f });
    }
    registerSecret(value);
    return value;
  }

  set(name: string, value: string | null): void {
    const f = this.file(name);
    if (value === null || value === '') {
      rmSync(f, { force: true });
      return;
    }
    registerSecret(value);
    if (!this.encryptor.isEncryptionAvailable()) throw new Error('OS encryption (safeStorage) is not available; the API key was not stored');
    makePrivateDir(this.dir);
    writeFileAtomic(f, this.encryptor.encryptString(value));
    chmodSync(f, 0o600);
  }
}

/** Creates a folder only its owner can enter (secrets live there). */
function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAGIC = Buffer.from('DFS1');

/**
 * Serve/CLI encryption: AES-256-GCM under a random per-user key kept in `<dir>/.key` (0600, created on
 * first use with O_EXCL so two processes agree on one key). It keeps the API key out of plain text in
 * the config folder, its backups and screenshots; it is no defence against someone who can read the
 * user's files (they can read the key file too) — that is what the OS keychain in the app is for.
 * File layout: "DFS1" | 12-byte IV | 16-byte tag | ciphertext.
 */
export class UserKeyEncryptor implements StringEncryptor {
  constructor(private readonly dir: string) {}

  isEncryptionAvailable(): boolean {
    return true;
  }

  private key(): Buffer {
    const file = join(this.dir, '.key');
    if (!existsSync(file)) {
      makePrivateDir(this.dir);
      try {
        const fd = openSync(file, 'wx', 0o600);
        try {
          writeSync(fd, randomBytes(KEY_BYTES));
        } finally {
          closeSync(fd);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const key = readFileSync(file);
    if (key.length !== KEY_BYTES) throw new Error(`${file} is not a ${KEY_BYTES}-byte key; remove it and set the API key again`);
    return key;
  }

  encryptString(plain: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(), iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
  }

  decryptString(encrypted: Buffer): string {
    if (!encrypted.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a DreamFrame secret file');
    const iv = encrypted.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
    const tag = encrypted.subarray(MAGIC.length + IV_BYTES, MAGIC.length + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key(), iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(encrypted.subarray(MAGIC.length + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

/**
 * The serve/CLI default: an encrypted file store in the config folder of the moment (the folder is
 * looked up on every call, so `DREAMFRAME_CONFIG_DIR` set after start-up is honoured).
 */
export class UserFileSecretStore implements SecretStore {
  private store(): EncryptedFileSecretStore {
    // Its own folder: the app's safeStorage files in secrets/ are not readable with this key, and must not be overwritten.
    const dir = join(configDir(), 'secrets', 'local');
    return new EncryptedFileSecretStore(new UserKeyEncryptor(dir), dir);
  }

  get(name: string): string | null {
    return this.store().get(name);
  }

  set(name: string, value: string | null): void {
    this.store().set(name, value);
  }
}

export const API_KEY_SECRET = 'llm-api-key';

let store: SecretStore = new UserFileSecretStore();

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
  registerSecret(fromEnv);
  if (fromEnv) return { key: fromEnv, source: 'env' };
  return { key: null, source: 'none' };
}
