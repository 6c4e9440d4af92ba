// GET /control/events: live Server-Sent Events of bus events. One bus subscription serialises each
// event once and fans the frame out to every client. A client that reads slowly gets a bounded
// queue; past it, frames are dropped and counted, and the client is told how many with an
// `event: dropped` frame when it catches up. A comment line every heartbeat keeps proxies from
// closing an idle stream.
import type { ServerResponse } from 'node:http';
import type { EventBus, GatewayEvent } from '../../events.js';
import { sendError } from '../reply.js';
import type { Router } from '../router.js';

export interface EventStreamOptions {
  /** default 15s */
  heartbeatMs?: number;
  /** default 64 */
  maxClients?: number;
  /** frames queued for one slow client beyond the socket's own buffer; default 256KiB */
  clientQueueBytes?: number;
}

class SseClient {
  queue: string[] = [];
  queuedBytes = 0;
  dropped = 0;
  waiting = false;
  readonly onDrain = (): void => this.drain();

  constructor(readonly res: ServerResponse, private readonly maxBytes: number, private readonly hub: EventStreamHub) {}

  send(frame: string): void {
    if (this.waiting) {
      if (this.queuedBytes + frame.length > this.maxBytes) {
        this.dropped++;
        this.hub.dropped++;
        return;
      }
      this.queue.push(frame);
      this.queuedBytes += frame.length;
      return;
    }
    if (!this.res.write(frame)) {
      this.waiting = true;
      this.res.once('drain', this.onDrain);
    }
  }

  private drain(): void {
    this.waiting = false;
    if (this.dropped > 0) {
      const n = this.dropped;
      this.dropped = 0;
      this.send(`event: dropped\ndata: {"count":${n}}\n\n`);
    }
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const f of frames) this.send(f);
  }
}

export class EventStreamHub {
  readonly clients = new Set<SseClient>();
  /** frames dropped for slow clients since start */
  dropped = 0;
  private unsubscribe: (() => void) | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly heartbeatMs: number;
  private readonly maxClients: number;
  private readonly clientQueueBytes: number;
  private readonly onEvent = (ev: GatewayEvent): void => {
    const frame = `event: ${ev.kind}\ndata: ${JSON.stringify(toWire(ev))}\n\n`;
    for (const c of this.clients) c.send(frame);
  };
  private readonly beat = (): void => {
    for (const c of this.clients) if (!c.waiting) c.res.write(': heartbeat\n\n');
  };

  constructor(private readonly bus: EventBus, opts: EventStreamOptions = {}) {
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.maxClients = opts.maxClients ?? 64;
    this.clientQueueBytes = opts.clientQueueBytes ?? 256 * 1024;
  }

  /** Takes over the response as an event stream until the client goes away. */
  attach(res: ServerResponse): void {
    if (this.clients.size >= this.maxClients) {
      sendError(res, 503, 'overloaded', 'too_many_event_streams', `at most ${this.maxClients} event streams at once`, { 'retry-after': '5' });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': connected\n\n');
    const client = new SseClient(res, this.clientQueueBytes, this);
    this.clients.add(client);
    if (!this.unsubscribe) this.unsubscribe = this.bus.subscribe(this.onEvent);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(this.beat, this.heartbeatMs);
      this.heartbeat.unref();
    }
    res.once('close', () => this.detach(client));
  }

  /** Ends every stream (shutdown: an SSE response never ends by itself). */
  close(): void {
    for (const c of this.clients) c.res.end();
    for (const c of [...this.clients]) this.detach(c);
  }

  /** Bytes queued for slow clients (memory accounting). */
  bytes(): number {
    let n = 0;
    for (const c of this.clients) n += c.queuedBytes;
    return n;
  }

  private detach(c: SseClient): void {
    if (!this.clients.delete(c)) return;
    c.res.off('drain', c.onDrain);
    c.queue = [];
    c.queuedBytes = 0;
    if (this.clients.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = null;
      if (this.heartbeat) clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }
}

export function registerEventStreamRoute(router: Router, bus: EventBus, opts?: EventStreamOptions): EventStreamHub {
  const hub = new EventStreamHub(bus, opts);
  router.get('/control/events', ({ req, res }) => {
    // HEAD (the router maps it to GET) gets the stream's head only: attached, it would never end and
    // would hold one of the client slots with nothing flushed to the client.
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
      res.end();
      return;
    }
    hub.attach(res);
  });
  return hub;
}

/** Times as ISO 8601, as everywhere else on the control API. */
function toWire(ev: GatewayEvent): unknown {
  if (ev.kind === 'policy' || ev.kind === 'approval') return { ...ev, at: new Date(ev.at).toISOString() };
  const s = ev.summary;
  return {
    ...ev,
    at: new Date(ev.at).toISOString(),
    ...(s ? { summary: { ...s, started_at: new Date(s.started_at).toISOString(), last_seen_at: new Date(s.last_seen_at).toISOString() } } : {}),
  };
}
