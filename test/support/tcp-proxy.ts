// A TCP proxy on loopback in front of a server, that can stop answering as a network partition does:
// `freeze()` stops forwarding bytes both ways and leaves new connections unanswered, without closing
// or resetting anything; `heal()` then ends the connections caught in it (both sides), as a long
// partition ends them, and forwards new connections again.
import { connect, createServer, type Server, type Socket } from 'net';

export interface TcpProxy {
  port: number;
  /** From now on, nothing passes and nothing is closed. */
  freeze(): void;
  /** Ends every connection open during the freeze; new ones are forwarded again. */
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let frozen = false;
  /** Every open pair: [client side, server side (null while frozen)]. */
  const pairs = new Set<[Socket, Socket | null]>();

  const forward = (client: Socket): void => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket | null] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    // Byte by byte chunk, so that a freeze stops at once what is not forwarded yet.
    client.on('data', (chunk: Buffer) => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen) client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  };

  const server: Server = createServer((client) => {
    if (!frozen) {
      forward(client);
      return;
    }
    // Accepted (the kernel did so anyway) and never answered, never closed, until the partition heals.
    const pair: [Socket, Socket | null] = [client, null];
    pairs.add(pair);
    client.on('error', () => undefined);
    client.on('close', () => pairs.delete(pair));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    freeze: () => {
      frozen = true;
    },
    heal: () => {
      for (const [client, upstream] of [...pairs]) {
        client.destroy();
        upstream?.destroy();
      }
      pairs.clear();
      frozen = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream?.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
