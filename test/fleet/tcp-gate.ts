// A TCP relay in front of Redis that a test can cut and restore, to cut one fleet instance off
// from Redis while the other keeps its connection. Cut = every relayed socket destroyed and new
// connections refused at once (the client sees a reset and goes into its reconnect loop).
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpGate {
  private readonly sockets = new Set<Socket>();
  private open = true;
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(targetPort: number): Promise<TcpGate> {
    let gate: TcpGate | null = null;
    const server = createServer((client) => {
      if (!gate || !gate.open) { client.destroy(); return; }
      const upstream = connect({ port: targetPort, host: '127.0.0.1' });
      gate.track(client);
      gate.track(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => { client.destroy(); upstream.destroy(); };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    gate = new TcpGate(server, typeof addr === 'object' && addr ? addr.port : 0);
    return gate;
  }

  get url(): string { return `redis://127.0.0.1:${this.port}`; }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }

  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void { this.open = true; }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
