// A text message encoded once for many raw ws connections: its UTF-8 payload, and the whole
// WebSocket frame around it (RFC 6455 §5.2: FIN, text opcode, no mask as server frames go, the
// payload length), built on first use. A connection that negotiated no extension is written these
// exact bytes in one socket write; the others are given the payload through ws, which compresses
// per connection.

/** Opcode 0x1 (text) with the FIN bit: a whole message in one frame. */
const FIN_TEXT = 0x81;

export class EncodedTextFrame {
  readonly payload: Buffer;
  private framed: Buffer | null = null;

  constructor(text: string) {
    this.payload = Buffer.from(text, 'utf8');
  }

  /** The frame's bytes on the wire: header then payload. */
  get wire(): Buffer {
    this.framed ??= frameText(this.payload);
    return this.framed;
  }
}

/** One unmasked, unfragmented text frame holding `payload` (UTF-8). */
export function frameText(payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = FIN_TEXT;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerLength);
  return frame;
}
