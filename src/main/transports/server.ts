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

/**
 * Serve mode: one HTTP server on 127.0.0.1 that hands out the built renderer, the API over a
 * WebSocket (/api) and images (/media/…). Everything but the static UI files needs the per-launch
 * token; the Host header must name the loopback address (blocks DNS-rebinding pages), and the
 * WebSocket Origin must be this server.
 */

export interface ServeOptions {
  projectDir?: string;
  /** An already-built context (tests, or the CLI that opened the project itself). */
  context?: AppContext;
  port?: number;
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

const MAX_MESSAGE_BYTES = 1024 * 1024;

function defaultRendererDir(): string {
  return resolve(process.cwd(), 'out', 'renderer');
}

function tokenMatches(expected: Buffer, given: string | null): boolean {
  if (!given) return false;
  const buf = Buffer.from(given);
  return buf.length === expected.length && timingSafeEqual(buf, expected);
}

function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
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
  const rendererDir = resolve(opts.rendererDir ?? defaultRendererDir());
  let port = 0;

  const serveStatic = (req: IncomingMessage, res: ServerResponse, pathname: string): void => {
    const rel = pathname === '/' ? 'index.html' : decodeURIComponent(pathname).replace(/^\/+/, '');
    const file = normalize(join(rendererDir, rel));
    if (file !== rendererDir && !file.startsWith(rendererDir + sep)) return send(res, 404, 'Not found');
    const target = existsSync(file) && statSync(file).isFile() ? file : null;
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
    createReadStream(target).pipe(res);
  };

  const server = createServer((req, res) => {
    void (async () => {
      if (!hostAllowed(req.headers.host, port)) return send(res, 403, 'Forbidden host');
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed');
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      if (url.pathname.startsWith('/media/')) {
        if (!tokenMatches(tokenBuf, url.searchParams.get('token'))) return send(res, 401, 'Missing or wrong token');
        const m = /^\/media\/(thumb|full)\/(.+)$/.exec(url.pathname);
        if (!m) return send(res, 404, 'Not found');
        try {
          const project = context.requireProject();
          const file = await readMedia(project, m[1] as 'thumb' | 'full', decodeURIComponent(m[2]));
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
    })().catch((err) => send(res, 500, (err as Error).message));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const origin = req.headers.origin;
    const originOk = origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
    if (url.pathname !== '/api' || !hostAllowed(req.headers.host, port) || !originOk
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
          ws.send(JSON.stringify({ id, ...out }));
        } catch (err) {
          ws.send(JSON.stringify({ id, ok: false, error: { code: 'bad_message', message: `Malformed request: ${(err as Error).message}` } }));
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
