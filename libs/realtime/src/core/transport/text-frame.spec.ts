// Broadcast frames are built by hand (one header per broadcast, not per recipient): their bytes must
// be exactly what ws itself writes for the same message, in the three length encodings of RFC 6455
// (7-bit, 16-bit, 64-bit) and at their edges. The reference is captured from a real ws server over
// loopback, read as raw TCP bytes by a client that performs the upgrade itself.
import { randomBytes } from 'crypto';
import { request, type IncomingMessage } from 'http';
import type { AddressInfo } from 'net';
import type { Duplex } from 'stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { EncodedTextFrame, frameText } from './text-frame';

/** Messages at each length encoding and its edges; the last ones are multi-byte UTF-8. */
const MESSAGES = [
  '',
  'x',
  'a'.repeat(125),
  'a'.repeat(126),
  'b'.repeat(65_535),
  'c'.repeat(65_536),
  'd'.repeat(70_001),
  JSON.stringify({ type: 'room_message', data: { content: 'héllo — 你好 👋' } }),
  '€'.repeat(43), // 129 bytes from 43 characters: the byte length decides, not the string length
];

describe('EncodedTextFrame', () => {
  let server: WebSocketServer;
  let serverSide: WebSocket;
  let raw: Duplex;
  let received = Buffer.alloc(0);
  let waiting: { bytes: number; resolve: (bytes: Buffer) => void } | null = null;

  /** The next `bytes` bytes the client's TCP socket receives. */
  function nextBytes(bytes: number): Promise<Buffer> {
    return new Promise((resolve) => {
      waiting = { bytes, resolve };
      drain();
    });
  }

  function drain(): void {
    if (waiting === null || received.length < waiting.bytes) return;
    const taken = received.subarray(0, waiting.bytes);
    received = received.subarray(waiting.bytes);
    const { resolve } = waiting;
    waiting = null;
    resolve(Buffer.from(taken));
  }

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const connected = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    raw = await new Promise<Duplex>((resolve, reject) => {
      const upgrade = request({
        host: '127.0.0.1',
        port,
        path: '/',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        },
      });
      upgrade.once('upgrade', (_response: IncomingMessage, socket: Duplex, head: Buffer) => {
        received = Buffer.from(head);
        resolve(socket);
      });
      upgrade.once('error', reject);
      upgrade.end();
    });
    raw.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      drain();
    });
    serverSide = await connected;
  });

  afterAll(async () => {
    raw.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it.each(MESSAGES.map((text) => [Buffer.byteLength(text), text]))(
    'frames a %i-byte text message exactly as ws writes it',
    async (_bytes, text) => {
      const frame = new EncodedTextFrame(text);
      const reference = nextBytes(frame.wire.length);
      serverSide.send(text);
      expect((await reference).equals(frame.wire)).toBe(true);
      expect(frame.payload.toString('utf8')).toBe(text);
    },
  );

  it('uses the 2-, 4- and 10-byte headers at the RFC 6455 edges', () => {
    expect(frameText(Buffer.alloc(125)).length).toBe(2 + 125);
    expect(frameText(Buffer.alloc(126)).length).toBe(4 + 126);
    expect(frameText(Buffer.alloc(65_535)).length).toBe(4 + 65_535);
    expect(frameText(Buffer.alloc(65_536)).length).toBe(10 + 65_536);
  });

  it('builds the frame once, on first use', () => {
    const frame = new EncodedTextFrame('once');
    expect(frame.wire).toBe(frame.wire);
  });
});
