import OpenAI from 'openai';
import type { z } from 'zod';
import { AppError } from '../../shared/errors';
import { extractJson } from './extract-json';
import { Limiter, sharedLimiter } from './limiter';
import { backoffDelay, isRetriable, sleep } from './retry';
import type { ProviderSettings, StructuredMode } from './settings';
import { registerSecret, redactSecrets } from '../util/redact-secrets';

/**
 * The one place that talks to an OpenAI-compatible server (through the `openai` package). Adds what
 * plot generation needs on top: a shared concurrency limit, retries with backoff that honour
 * Retry-After, structured output with a fallback chain, tolerant JSON extraction, repairs of what is
 * cosmetic (reported as warnings), validation with re-asks that quote the errors, and token accounting.
 */

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

export interface Usage {
  requests: number;
  promptTokens: number;
  completionTokens: number;
}

export const emptyUsage = (): Usage => ({ requests: 0, promptTokens: 0, completionTokens: 0 });

export interface StructuredRequest<T> {
  messages: ChatMessage[];
  schema: z.ZodType<T>;
  /** JSON Schema sent as response_format (zod's z.toJSONSchema of `schema`). */
  jsonSchema: Record<string, unknown>;
  name: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Runs on the parsed JSON before validation: cosmetic repairs, each reported as a warning. */
  prepare?: (value: unknown) => { value: unknown; warnings: string[] };
  /** Runs on the validated answer: more repairs (warnings), and issues that still call for a re-ask. */
  review?: (value: T) => { value: T; warnings: string[]; issues: string[] };
}

export interface StructuredResult<T> {
  value: T;
  raw: string;
  usage: Usage;
  model: string;
  /** What was repaired in the accepted answer (empty when it followed every rule). */
  warnings: string[];
}

/** An answer that stayed invalid after every re-ask; carries the last raw answer for inspection. */
export class InvalidAnswerError extends AppError {
  constructor(message: string, readonly raw: string, readonly usage: Usage, readonly issues: string[]) {
    super('plot.answer_invalid', message, { issues });
  }
}

/** A request that failed at the transport level after all retries. */
export class LlmRequestError extends AppError {
  constructor(message: string, readonly usage: Usage, details: Record<string, unknown>) {
    super('plot.request_failed', message, details);
  }
}

/** Error texts end up in the project database; servers sometimes echo the key (or part of it) back. */
export function redactKey(text: string, key: string | null): string {
  const out = key && key.length >= 4 ? text.split(key).join('[redacted]') : text;
  return redactSecrets(out);
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.slice(0, 20).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

export class LlmClient {
  private readonly client: OpenAI;
  readonly limiter: Limiter;
  private mode: StructuredMode;

  private readonly apiKey: string | null;

  constructor(readonly settings: ProviderSettings, apiKey: string | null, limiter?: Limiter) {
    this.apiKey = apiKey;
    registerSecret(apiKey);
    this.client = new OpenAI({
      baseURL: settings.baseUrl,
      // Local servers (Ollama, llama.cpp) need no key, but the client insists on one.
      apiKey: apiKey ?? 'no-key',
      timeout: settings.timeoutMs,
      maxRetries: 0,
    });
    this.limiter = limiter ?? sharedLimiter(settings.baseUrl, settings.maxConcurrency);
    this.mode = settings.structuredOutput;
  }

  /** Lists the server's models (the "test connection" action). */
  async listModels(signal?: AbortSignal): Promise<string[]> {
    const usage = emptyUsage();
    return this.withRetries(usage, signal, async () => {
      const ids: string[] = [];
      for await (const m of this.client.models.list({ signal })) ids.push(m.id);
      return ids;
    });
  }

  async completeJson<T>(req: StructuredRequest<T>): Promise<StructuredResult<T>> {
    const usage = emptyUsage();
    const messages = [...req.messages];
    let raw = '';
    let issues: string[] = [];
    let model = this.settings.model;
    for (let ask = 0; ask <= this.settings.reasks; ask++) {
      const answer = await this.chat(messages, req, usage);
      raw = answer.content;
      model = answer.model || model;
      const extracted = extractJson(raw);
      if ('error' in extracted) {
        issues = [extracted.error];
      } else {
        const prepared = req.prepare ? req.prepare(extracted.value) : { value: extracted.value, warnings: [] };
        const parsed = req.schema.safeParse(prepared.value);
        if (parsed.success) {
          const reviewed = req.review ? req.review(parsed.data) : { value: parsed.data, warnings: [], issues: [] };
          if (reviewed.issues.length === 0) {
            return { value: reviewed.value, raw, usage, model, warnings: [...prepared.warnings, ...reviewed.warnings] };
          }
          issues = reviewed.issues;
        } else {
          issues = formatIssues(parsed.error);
        }
      }
      messages.push({ role: 'assistant', content: raw });
      messages.push({
        role: 'user',
        content: `Your answer does not follow the required format:\n${issues.map((i) => `- ${i}`).join('\n')}\n`
          + 'Answer again with the complete, corrected JSON object only.',
      });
    }
    throw new InvalidAnswerError(
      `The model's answer stayed invalid after ${this.settings.reasks} re-ask(s): ${issues.slice(0, 3).join('; ')}`,
      raw, usage, issues);
  }

  private async chat<T>(messages: ChatMessage[], req: StructuredRequest<T>, usage: Usage): Promise<{ content: string; model: string }> {
    for (;;) {
      const mode = this.mode;
      try {
        return await this.withRetries(usage, req.signal, async () => {
          const res = await this.client.chat.completions.create({
            model: this.settings.model,
            temperature: this.settings.temperature,
            messages,
            ...(mode === 'json_schema'
              ? { response_format: { type: 'json_schema', json_schema: { name: req.name, schema: req.jsonSchema, strict: false } } }
              : mode === 'json_object' ? { response_format: { type: 'json_object' } } : {}),
          }, { signal: req.signal, headers: req.headers });
          usage.promptTokens += res.usage?.prompt_tokens ?? 0;
          usage.completionTokens += res.usage?.completion_tokens ?? 0;
          // An answer may echo the key; it is redacted before anything parses, stores or shows it.
          return { content: redactSecrets(res.choices[0]?.message?.content ?? ''), model: res.model };
        });
      } catch (err) {
        // A server that rejects response_format gets the next weaker mode; prompts carry the schema anyway.
        const status = err instanceof LlmRequestError ? (err.details as { status?: number }).status : undefined;
        if (status === 400 && mode !== 'none') {
          this.mode = mode === 'json_schema' ? 'json_object' : 'none';
          continue;
        }
        throw err;
      }
    }
  }

  /** Runs one HTTP request under the shared limit; sleeps between retries without holding a slot. */
  private async withRetries<R>(usage: Usage, signal: AbortSignal | undefined, fn: () => Promise<R>): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.limiter.acquire(signal);
        try {
          usage.requests++;
          return await fn();
        } finally {
          this.limiter.release();
        }
      } catch (err) {
        if (signal?.aborted) throw signal.reason ?? err;
        const status = err instanceof OpenAI.APIError ? err.status : undefined;
        if (!isRetriable(err) || attempt >= this.settings.retries) {
          throw new LlmRequestError(
            `${this.settings.baseUrl}: request failed${status ? ` with HTTP ${status}` : ''}`
              + `${attempt > 0 ? ` after ${attempt + 1} attempts` : ''}: ${redactKey((err as Error).message, this.apiKey)}`,
            usage, { status, baseUrl: this.settings.baseUrl, attempts: attempt + 1 });
        }
        await sleep(backoffDelay(err, attempt, this.settings.retryBaseMs), signal);
      }
    }
  }
}
