import WebSocket from 'ws';

/** A minimal client of the serve-mode WebSocket API for tests. */
export class TestWsClient {
  private nextId = 1;
  private readonly pending = new Map<number, (msg: any) => void>();
  readonly events: { event: string; payload: any }[] = [];
  readonly raw: any[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      this.raw.push(msg);
      if ('event' in msg) this.events.push(msg);
      else if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
        this.pending.get(msg.id)!(msg);
        this.pending.delete(msg.id);
      }
    });
  }

  static connect(url: string, headers?: Record<string, string>): Promise<TestWsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new TestWsClient(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  /** Sends one request and resolves with the whole response message. */
  request(method: string, input: unknown): Promise<{ id: number; ok: boolean; result?: any; error?: any }> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, input }));
    });
  }

  async call(method: string, input: unknown = {}): Promise<any> {
    const res = await this.request(method, input);
    if (!res.ok) throw Object.assign(new Error(res.error.message), { code: res.error.code, details: res.error.details });
    return res.result;
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Waits until an event matching the predicate has arrived. */
  async waitForEvent(pred: (e: { event: string; payload: any }) => boolean, timeoutMs = 10_000): Promise<{ event: string; payload: any }> {
    const start = Date.now();
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for event');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.ws.close();
  }
}
