import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted OpenAI-compatible server for the plot tests: /v1/chat/completions and /v1/models on
 * 127.0.0.1, logging every request (with the plot node it was for) and the requests in flight.
 */

export interface LoggedRequest {
  seq: number;
  path: string;
  node: string | null;
  film: string | null;
  authorization: string | null;
  body: any;
  startedAt: number;
  endedAt?: number;
  status?: number;
  aborted?: boolean;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** The assistant message content (chat completions). */
  content?: string;
  /** A raw body instead of a chat completion. */
  body?: unknown;
  delayMs?: number;
  /** Never answer (the client's timeout fires). */
  hang?: boolean;
  /** Close the socket without an answer (dropped connection). */
  destroy?: boolean;
}

export type Script = (req: LoggedRequest, attemptForNode: number) => Reply | Promise<Reply>;

export interface FakeServer {
  baseUrl: string;
  log: LoggedRequest[];
  peakInFlight: number;
  inFlight: number;
  script: Script;
  close(): Promise<void>;
}

export async function startFakeOpenAI(script: Script): Promise<FakeServer> {
  const perNode = new Map<string, number>();
  const state: FakeServer = {
    baseUrl: '', log: [], peakInFlight: 0, inFlight: 0, script,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const entry: LoggedRequest = {
      seq: state.log.length, path: req.url ?? '', node: (req.headers['x-dreamframe-node'] as string) ?? null,
      film: (req.headers['x-dreamframe-film'] as string) ?? null, authorization: req.headers.authorization ?? null,
      body: text ? JSON.parse(text) : null, startedAt: Date.now(),
    };
    state.log.push(entry);
    state.inFlight++;
    state.peakInFlight = Math.max(state.peakInFlight, state.inFlight);
    let closed = false;
    res.on('close', () => {
      if (!res.writableFinished) entry.aborted = true;
      if (!closed) { closed = true; state.inFlight--; entry.endedAt = Date.now(); }
    });
    try {
      if (entry.path.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-small', object: 'model', created: 0, owned_by: 'test' }, { id: 'fake-large', object: 'model', created: 0, owned_by: 'test' }] }));
        return;
      }
      const key = entry.node ?? '?';
      const attempt = perNode.get(key) ?? 0;
      perNode.set(key, attempt + 1);
      const reply = await state.script(entry, attempt);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (reply.hang) return;
      if (reply.destroy) { req.socket.destroy(); return; }
      entry.status = reply.status ?? 200;
      const body = reply.body ?? (entry.status === 200 ? {
        id: `chatcmpl-${entry.seq}`, object: 'chat.completion', created: 0, model: entry.body?.model ?? 'fake',
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: reply.content ?? '' } }],
        usage: { prompt_tokens: 100, completion_tokens: 50, total_tokens: 150 },
      } : { error: { message: `scripted ${entry.status}`, type: 'server_error' } });
      res.writeHead(entry.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(body));
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(err) } }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return state;
}

export interface TestBreadth { chapters: number; subchapters: number; frames: number; dialogueLines: number; qaPairs: number }

const LOCATIONS = ['forest', 'tavern', 'harbor', 'market', 'chapel', 'bridge', 'library', 'workshop', 'garden', 'castle', 'lighthouse', 'station'];

/** A valid, deterministic answer for a plot node key ('film', 'c1', 'c1.s2'). */
export function validAnswer(key: string, b: TestBreadth): Record<string, unknown> {
  if (key === 'film') {
    return {
      title: 'The Lantern Keeper',
      overview: 'Lila keeps the last lantern of a harbour town alive while Tom searches for the lost keeper.',
      styleDescription: '((warm lantern light)), {Dramatic}, muted teal shadows, ((film grain))',
      styleKeyword: 'Dramatic',
      locations: LOCATIONS,
      characters: [
        { name: 'Lila', role: 'main', gender: 'woman', lookalike: 'Emma Stone', color: 'green' },
        { name: 'Tom', role: 'main', gender: 'man', lookalike: 'Ryan Gosling', color: 'navy blue' },
        { name: 'Old Marta', role: 'supporting', gender: 'woman', lookalike: 'Judi Dench', color: 'grey' },
      ],
      chapters: Array.from({ length: b.chapters }, (_, i) => ({
        title: `Chapter ${i + 1}`, scene: [LOCATIONS[i % 12], LOCATIONS[(i + 1) % 12]], summary: `Summary of chapter ${i + 1}.`,
        qa: { question: `What happens in chapter ${i + 1}?`, answer: `Lila and Tom meet in chapter ${i + 1}.` },
      })),
    };
  }
  const m = /^c(\d+)(?:\.s(\d+))?$/.exec(key);
  if (!m) throw new Error(`unknown node key ${key}`);
  const c = Number(m[1]);
  if (m[2] === undefined) {
    return {
      subchapters: Array.from({ length: b.subchapters }, (_, j) => ({
        title: `Part ${c + 1}-${j + 1}`, scene: `At the ${LOCATIONS[(c + j) % 12]}`, summary: `Summary ${c + 1}-${j + 1}.`,
      })),
      qa: { question: `Why does chapter ${c + 1} matter?`, answer: 'Because the lantern must stay lit.' },
    };
  }
  const s = Number(m[2]);
  return {
    frames: Array.from({ length: b.frames }, (_, f) => ({
      location: LOCATIONS[(c + s + f) % 12], who: ['Lila'], action: 'walk', expression: 'smiling',
      description: `In the ${LOCATIONS[(c + s + f) % 12]}, Lila is walking with Tom's lantern (${c + 1}-${s + 1}-${f + 1}), with a smiling face.`,
    })),
    dialogue: Array.from({ length: b.dialogueLines }, (_, d) => ({
      speaker: d % 2 ? 'Tom' : 'Lila', text: `Line ${d + 1} of ${c + 1}-${s + 1}.`, afterFrame: Math.min(b.frames, d + 1),
    })),
    qa: Array.from({ length: b.qaPairs }, (_, q) => ({ question: `Where is Lila in part ${c + 1}-${s + 1} (${q + 1})?`, answer: 'At the harbour.' })),
  };
}

/** Script answering every chat request validly after `delayMs`. */
export const validScript = (b: TestBreadth, delayMs = 0): Script => (req) =>
  ({ content: JSON.stringify(validAnswer(req.node ?? '?', b)), delayMs });

/**
 * What a real (small) model writes: valid under the JSON Schema we send, but loose about the rules the
 * prompt states — no {Keyword} and no ((emphasis)) in the style description, locations longer than two
 * words (the release film has "path leading from the city gates"), a chapter scene the locations do not
 * list, padding and line breaks around values, a who/when question.
 */
export function looseAnswer(key: string, b: TestBreadth): Record<string, unknown> {
  const valid = validAnswer(key, b) as any;
  const pad = (s: string) => `  ${s}\n `;
  if (key === 'film') {
    const locations = ['path leading from the city gates', 'old stone bridge over the river', ...LOCATIONS.slice(0, 10).map(pad)];
    return {
      ...valid,
      title: pad(valid.title),
      overview: `${valid.overview}\n\n   It ends at dawn.`,
      styleDescription: 'warm lantern light, muted teal shadows,   film grain, dramatic contrast',
      styleKeyword: ' Dramatic ',
      locations,
      characters: valid.characters.map((c: any) => ({ ...c, name: pad(c.name) })),
      chapters: valid.chapters.map((c: any, i: number) => ({
        ...c,
        scene: i === 0 ? ['Path leading from the city gates', 'the lighthouse'] : [LOCATIONS[i % 10]],
        qa: i === 1 ? { question: 'Who keeps the lantern lit?', answer: 'Lila does.' } : c.qa,
      })),
    };
  }
  if (!key.includes('.s')) return { ...valid, subchapters: valid.subchapters.map((s: any) => ({ ...s, summary: pad(s.summary) })) };
  return { ...valid, frames: valid.frames.map((f: any) => ({ ...f, description: pad(f.description), location: pad(f.location) })) };
}

/** Script answering every chat request with looseAnswer (bare JSON, no code fences). */
export const looseScript = (b: TestBreadth): Script => (req) => ({ content: JSON.stringify(looseAnswer(req.node ?? '?', b)) });
