import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppContext } from '../app/context';
import { createAppContext } from '../composition';
import { dispatch } from '../api/dispatch';
import { readMedia } from '../media/media-service';
import { openProject } from '../project/project';
import { installedRendererDir } from './renderer-dir';

/**
 * Serve mode: one HTTP server on 127.0.0.1 that hands out the built renderer, the API over a
 * WebSocket (/api) and images (/media/…). Everything but the static UI files needs the per-launch
 * token; the Host header must name the loopback address (blocks DNS-rebinding pages), and the
 * WebSocket Origin must be this server.
 *
 * No request may end the process: a bad WebSocket frame closes only its connection (1007 invalid UTF-8, 1009 too
 * large, 1002 protocol error), a malformed URL is a 400, request heads are bounded (MAX_HEADER_BYTES, answered 431)
 * and requests carrying a body are refused (413) since every route is GET/HEAD.
 */

export interface ServeOptions {
  projectDir?: string;
  /** An already-built context (tests, or the CLI that opened the project itself). */
  context?: AppContext;
  port?: number;
  /**
   * Developer override (`serve --renderer <dir>`, tests) for the built UI folder; by default the installed app's
   * own out/renderer, never anything found from the current folder.
   */
  rendererDir?: string;
  token?: string;
}

export interface RunningServer {
  url: string;
  token: string;
  port: number;
  context: AppContext;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.webp': 'image/webp', '.ico': 'image/x-icon',
  '.woff2': 'font/woff2', '.json': 'application/json',
};

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The largest WebSocket message accepted. It must hold the largest request the contract allows: review.set and
 * render/export id lists of 100,000 items (~5 MB at the longest ids), plot.batch's 1,000 themes of 2,000 characters
 * (up to ~12 MB when every character is a \uXXXX escape). Anything larger is closed with 1009.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Request line plus headers; Node answers 431 beyond this. Our URLs are a path, a key and a token. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** decodeURIComponent that answers null for a malformed escape (%zz, a cut UTF-8 sequence) instead of throwing. */
function decodeOrNull(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function parseRequestUrl(raw: string | undefined, port: number): URL | null {
  try {
    return new URL(raw ?? '/', `http://127.0.0.1:${port}`);
  } catch {
    return null;
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function tokenMatches(expected: Buffer, given: string | null): boolean {
  if (!given) return false;
  const buf = Buffer.from(given);
  return buf.length === expected.length && timingSafeEqual(buf, expected);
}

function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

function isRegularFile(file: string): boolean {
  try {
    return existsSync(file) && statSync(file).isFile();
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const context = opts.context ?? createAppContext('serve', opts.projectDir ? openProject(opts.projectDir) : null);
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const rendererDir = resolve(opts.rendererDir ?? installedRendererDir());
  let port = 0;

  const serveStatic = (req: IncomingMessage, res: ServerResponse, pathname: string): void => {
    const decoded = decodeOrNull(pathname);
    if (decoded === null) return send(res, 400, 'Malformed %-escape in the path');
    const rel = pathname === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
    const file = normalize(join(rendererDir, rel));
    if (file !== rendererDir && !file.startsWith(rendererDir + sep)) return send(res, 404, 'Not found');
    const target = isRegularFile(file) ? file : null;
    if (!target) {
      if (!existsSync(join(rendererDir, 'index.html'))) {
        return send(res, 500, `The renderer is not built (${rendererDir}/index.html missing). Run "npm run build".`);
      }
      return send(res, 404, 'Not found');
    }
    res.writeHead(200, {
      'Content-Type': MIME[extname(target)] ?? 'application/octet-stream',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': extname(target) === '.html' ? 'no-store' : 'max-age=3600',
    });
    // A file that vanishes or turns unreadable mid-stream ends this response only.
    createReadStream(target).on('error', () => res.destroy()).pipe(res);
  };

  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: 30_000, headersTimeout: 15_000 }, (req, res) => {
    void (async () => {
      if (!hostAllowed(req.headers.host, port)) return send(res, 403, 'Forbidden host');
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed');
      if (hasBody(req)) {
        // Nothing here reads a body; close rather than drain whatever the client keeps sending.
        res.setHeader('Connection', 'close');
        return send(res, 413, 'Requests carry no body');
      }
      const url = parseRequestUrl(req.url, port);
      if (!url) return send(res, 400, 'Malformed URL');
      if (url.pathname.startsWith('/media/')) {
        if (!tokenMatches(tokenBuf, url.searchParams.get('token'))) return send(res, 401, 'Missing or wrong token');
        const m = /^\/media\/(thumb|full)\/(.+)$/.exec(url.pathname);
        if (!m) return send(res, 404, 'Not found');
        const key = decodeOrNull(m[2]);
        if (key === null) return send(res, 400, 'Malformed %-escape in the media key');
        try {
          const project = context.requireProject();
          const file = await readMedia(project, m[1] as 'thumb' | 'full', key);
          res.writeHead(200, {
            'Content-Type': file.mime, 'Content-Length': file.bytes.length, 'X-Content-Type-Options': 'nosniff',
            // Keys carry a version (?v=…), so a changed image has a new URL.
            'Cache-Control': 'private, max-age=31536000, immutable', 'Referrer-Policy': 'no-referrer',
          });
          return res.end(file.bytes);
        } catch (err) {
          const code = (err as { code?: string }).code;
          return send(res, code === 'not_found' ? 404 : 500, (err as Error).message);
        }
      }
      if (url.pathname === '/api') return send(res, 426, 'Upgrade to WebSocket required');
      return serveStatic(req, res, url.pathname);
    })().catch((err) => {
      if (res.headersSent) res.destroy();
      else send(res, 500, (err as Error).message);
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  wss.on('error', (err) => console.error(`[serve] WebSocket server: ${err.message}`));
  server.on('upgrade', (req, socket, head) => {
    // The raw socket has no error listener of its own until ws takes it over; a reset must not end the process.
    socket.on('error', () => socket.destroy());
    const url = parseRequestUrl(req.url, port);
    const origin = req.headers.origin;
    const originOk = origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
    if (!url || url.pathname !== '/api' || !hostAllowed(req.headers.host, port) || !originOk
      || !tokenMatches(tokenBuf, url.searchParams.get('token'))) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const unsubscribe = context.events.onAny((event, payload) => {
    const text = JSON.stringify({ event, payload });
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(text);
  });

  wss.on('connection', (ws: WebSocket) => {
    // ws reports a bad frame (invalid UTF-8, over maxPayload, a protocol violation) as an 'error' after it has started
    // closing this connection with the matching code; without a listener the error would end the whole server.
    ws.on('error', (err) => console.error(`[serve] closed a WebSocket connection: ${err.message}`));
    ws.on('message', (data, isBinary) => {
      void (async () => {
        let id: number | null = null;
        try {
          if (isBinary) throw new Error('binary messages are not accepted');
          const msg = JSON.parse(data.toString()) as { id?: unknown; method?: unknown; input?: unknown };
          if (typeof msg !== 'object' || msg === null || !Number.isSafeInteger(msg.id)) {
            throw new Error('a request needs an integer "id", a "method" and an "input"');
          }
          id = msg.id as number;
          const out = await dispatch(context, msg.method, msg.input);
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, ...out }));
        } catch (err) {
          const message = `Malformed request: ${String((err as Error).message).slice(0, 300)}`;
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, ok: false, error: { code: 'bad_message', message } }));
        }
      })();
    });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    token,
    port,
    context,
    close: async () => {
      unsubscribe();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      if (!opts.context) await context.close();
    },
  };
}
