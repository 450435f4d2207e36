// Fan-out in one place: a frame serialised and UTF-8 encoded once is written to N raw ws connections;
// slow consumers are closed by RawWsConnection rather than buffered without bound.
import type { RawWsConnection } from './raw-ws-connection';

/** Writes one serialised frame to every open connection; returns how many accepted it. */
export function fanOut(connections: Iterable<RawWsConnection>, serialized: string): number {
  // One Buffer for every recipient: ws writes a Buffer as it is, where a string is measured and
  // encoded again for each socket.
  const encoded = Buffer.from(serialized);
  let delivered = 0;
  for (const connection of connections) {
    if (connection.sendEncoded(encoded)) delivered += 1;
  }
  return delivered;
}
