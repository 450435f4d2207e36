// fanOut over real ws connections on loopback: the frame built once is what a ws client decodes, at
// every payload length class of RFC 6455 (7-bit, 16-bit and 64-bit lengths) and in UTF-8; it keeps
// its place among frames ws sends itself; a connection with permessage-deflate gets the payload
// through ws; a closed connection is skipped.
import { createServer, type IncomingMessage, type Server } from 'http';
import type { AddressInfo } from 'net';
import type { Duplex } from 'stream';
import { WebSocket, WebSocketServer } from 'ws';
import { TransportCounters } from '../metrics/transport-counters.service';
import { fanOut } from './fan-out';
import { dataEnvelopeCodec } from './frame-codec';
import { RawWsConnection } from './raw-ws-connection';
import { EncodedTextFrame, frameText } from './text-frame';

describe('frameText', () => {
  it.each([
    [0, 2],
    [125, 2],
    [126, 4],
    [65_535, 4],
    [65_536, 10],
  ])('frames %i payload bytes behind a %i-byte header', (length, header) => {
    const frame = frameText(Buffer.alloc(length, 0x61));
    expect(frame.length).toBe(header + length);
    expect(frame[0]).toBe(0x81);
    const declared =
      header === 2 ? frame[1] : header === 4 ? frame.readUInt16BE(2) : Number(frame.readBigUInt64BE(2));
    expect(declared).toBe(length);
    expect(frame[1]! & 0x80).toBe(0); // no mask bit: a server frame
  });

  it('builds the wire bytes of an EncodedTextFrame once', () => {
    const frame = new EncodedTextFrame('{"type":"x"}');
    expect(frame.wire).toBe(frame.wire);
    expect(frame.wire.subarray(2).toString()).toBe('{"type":"x"}');
  });
});

describe('fanOut over real ws connections', () => {
  let server: Server;
  let port: number;
  const accepted: RawWsConnection[] = [];
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 0 } });
    server = createServer();
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      wss.handleUpgrade(request, socket, head, (ws) => {
        const connection = new RawWsConnection(
          ws,
          request,
          dataEnvelopeCodec,
          1 << 20,
          new TransportCounters(),
        );
        connection.writeFramesTo(socket);
        accepted.push(connection);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await Promise.all(
      clients.splice(0).map(
        (client) =>
          new Promise<void>((resolve) => {
            if (client.readyState === WebSocket.CLOSED) return resolve();
            client.once('close', () => resolve());
            client.close();
          }),
      ),
    );
    accepted.splice(0);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A client and its server-side connection; every text frame it receives is recorded. */
  async function connect(deflate: boolean): Promise<{ connection: RawWsConnection; received: string[] }> {
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate });
    clients.push(client);
    const received: string[] = [];
    client.on('message', (data: Buffer, isBinary: boolean) => {
      received.push(isBinary ? `binary:${data.length}` : data.toString('utf8'));
    });
    const count = accepted.length;
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    await until(() => accepted.length > count);
    return { connection: accepted[accepted.length - 1]!, received };
  }

  async function until(done: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('delivers every length class and UTF-8 as text, in order with frames ws sends itself', async () => {
    const plain = await connect(false);
    const deflated = await connect(true);
    expect(plain.connection.socket.extensions).toBe('');
    expect(deflated.connection.socket.extensions).toContain('permessage-deflate');
    const texts = [
      'a',
      'é'.repeat(63), // 126 bytes of UTF-8: the first 16-bit length
      'x'.repeat(65_535),
      `€${'y'.repeat(70_000)}`,
      '',
    ];
    const expected: string[] = [];
    texts.forEach((text, index) => {
      expect(fanOut([plain.connection, deflated.connection], text)).toBe(2);
      // A frame through ws between two broadcasts must stay between them.
      const own = JSON.stringify({ own: index });
      plain.connection.sendSerialized(own);
      deflated.connection.sendSerialized(own);
      expected.push(text, own);
    });
    await until(
      () => plain.received.length === expected.length && deflated.received.length === expected.length,
    );
    expect(plain.received).toEqual(expected);
    expect(deflated.received).toEqual(expected);
  });

  it('writes the ready-made frame itself only where no extension was negotiated', async () => {
    const plain = await connect(false);
    const deflated = await connect(true);
    const plainSend = jest.spyOn(plain.connection.socket, 'send');
    const deflatedSend = jest.spyOn(deflated.connection.socket, 'send');
    fanOut([plain.connection, deflated.connection], '{"type":"room_message"}');
    expect(plainSend).not.toHaveBeenCalled();
    expect(deflatedSend).toHaveBeenCalledTimes(1);
    await until(() => plain.received.length === 1 && deflated.received.length === 1);
    expect(plain.received).toEqual(['{"type":"room_message"}']);
    expect(deflated.received).toEqual(['{"type":"room_message"}']);
  });

  it('skips a connection that is closing and counts only the ones written to', async () => {
    const open = await connect(false);
    const closing = await connect(false);
    closing.connection.close(1000, 'bye');
    expect(fanOut([open.connection, closing.connection], 'after close')).toBe(1);
    await until(() => open.received.length === 1);
    expect(open.received).toEqual(['after close']);
    expect(closing.received).toEqual([]);
  });
});
