// Fan-out in one place: a frame serialised once is written to N raw ws connections; slow consumers
// are closed by RawWsConnection rather than buffered without bound.
import type { RawWsConnection } from './raw-ws-connection';

/** Writes one serialised frame to every open connection; returns how many accepted it. */
export function fanOut(connections: Iterable<RawWsConnection>, serialized: string): number {
  const bytes = Buffer.byteLength(serialized);
  let delivered = 0;
  for (const connection of connections) {
    if (connection.sendSerialized(serialized, bytes)) delivered += 1;
  }
  return delivered;
}
