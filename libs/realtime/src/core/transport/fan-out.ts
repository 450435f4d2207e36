// Fan-out in one place: a frame serialised, UTF-8 encoded and framed once is written to N raw ws
// connections; slow consumers are closed by RawWsConnection rather than buffered without bound.
import type { RawWsConnection } from './raw-ws-connection';
import { EncodedTextFrame } from './text-frame';

/**
 * Writes one serialised frame to every open connection but `except` (one that gets its own copy);
 * returns how many accepted it.
 */
export function fanOut(
  connections: Iterable<RawWsConnection>,
  serialized: string,
  except?: RawWsConnection,
): number {
  // One encoding and one WebSocket frame for every recipient: ws would build a frame header (and,
  // for a string, encode the text again) for each socket, and write it as two chunks.
  const frame = new EncodedTextFrame(serialized);
  let delivered = 0;
  // The usual broadcast has no exception: its loop stays as lean as it was.
  if (except === undefined) {
    for (const connection of connections) {
      if (connection.sendEncoded(frame)) delivered += 1;
    }
    return delivered;
  }
  for (const connection of connections) {
    if (connection !== except && connection.sendEncoded(frame)) delivered += 1;
  }
  return delivered;
}
