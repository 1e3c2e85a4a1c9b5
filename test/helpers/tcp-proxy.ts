/**
 * A TCP proxy for outage tests: forwards 127.0.0.1:<port> to a target; `cut()` destroys every
 * forwarded connection and then refuses new ones (the listening socket is closed, so a connect
 * gets ECONNREFUSED, as from a database host whose server is down) until `restore()`.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Destroys every open connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts and forwards again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  const onConnection = (client: net.Socket) => {
    const upstream = net.connect(target.port, target.host);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  let server = net.createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  const port = await listen(0);
  const stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  let listening = true;
  return {
    port,
    async cut() {
      if (listening) {
        listening = false;
        const closed = stop();
        // A reset, as when the database host goes away (not a polite FIN).
        for (const s of open) s.resetAndDestroy();
        open.clear();
        await closed;
      }
    },
    async restore() {
      if (listening) return;
      server = net.createServer(onConnection);
      await listen(port);
      listening = true;
    },
    async close() {
      for (const s of open) s.destroy();
      open.clear();
      if (listening) await stop();
      listening = false;
    },
  };
}
