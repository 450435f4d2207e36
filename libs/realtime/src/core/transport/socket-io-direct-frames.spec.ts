// SocketIoDirectFrames on a stand-in engine.io connection: a broadcast's pre-encoded frame goes to the
// WebSocket's sender as one buffer (built once per broadcast), counted and bounded; anything else, or
// anything that would overtake bytes still queued in engine.io or in `ws`, goes through engine.io.
// Frames reaching one member in one turn of the event loop leave in one write, in order.
import { EventEmitter } from 'events';
import { Writable } from 'stream';
import type { Socket } from 'socket.io';
import { FrameBatches, SocketIoDirectFrames } from './socket-io-direct-frames';
import { SocketIoSendBound } from './socket-io-send-bound';

/** A stand-in TCP socket: a Writable (corked as a net.Socket is) recording each write it makes. */
class FakeTcp extends Writable {
  /** The chunks of each write to the kernel, in order (a writev has several). */
  readonly writes: string[][] = [];
  constructor() {
    super({ decodeStrings: true });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.writes.push([chunk.toString()]);
    callback();
  }
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: () => void): void {
    this.writes.push(chunks.map(({ chunk }) => chunk.toString()));
    callback();
  }
  /** Every byte written so far, in order. */
  get bytes(): string {
    return this.writes.map((chunks) => chunks.join('')).join('');
  }
}

class FakeSender {
  _state = 0;
  _queue: unknown[] = [];
  readonly frames: Buffer[][] = [];
  constructor(private readonly tcp: FakeTcp) {}
  /** As ws's: one buffer written, or header and payload written under cork. */
  sendFrame(list: Buffer[]): void {
    this.frames.push(list);
    if (list.length === 2) {
      this.tcp.cork();
      this.tcp.write(list[0]!);
      this.tcp.write(list[1]!);
      this.tcp.uncork();
    } else {
      this.tcp.write(list[0]!);
    }
  }
}

class FakeEngineConnection extends EventEmitter {
  readyState = 'open';
  writeBuffer: unknown[] = [];
  readonly engineWrites: unknown[][] = [];
  readonly tcp = new FakeTcp();
  readonly sender = new FakeSender(this.tcp);
  readonly ws = {
    readyState: 1,
    bufferedAmount: 0,
    _sender: this.sender,
    _socket: this.tcp,
    close: jest.fn(),
  };
  transport = { name: 'websocket', perMessageDeflate: null as unknown, socket: this.ws };
  close = jest.fn();
  get asConn(): Socket['conn'] {
    return this as unknown as Socket['conn'];
  }
}
// engine.io's own write, on the prototype as engine.io has it.
(FakeEngineConnection.prototype as unknown as { write: (...args: unknown[]) => unknown }).write = function (
  this: FakeEngineConnection,
  ...args: unknown[]
) {
  this.engineWrites.push(args);
  return this;
};

function broadcastOptions(): { wsPreEncodedFrame: Buffer[]; preEncoded: boolean } {
  return { preEncoded: true, wsPreEncodedFrame: [Buffer.from([0x81, 5]), Buffer.from('42[1]')] };
}

function setUp(maxBufferedBytes = 1000, batches = new FrameBatches()) {
  const sent: number[] = [];
  const frames = new SocketIoDirectFrames(
    (bytes) => sent.push(bytes),
    new SocketIoSendBound(maxBufferedBytes),
    batches,
  );
  const connection = new FakeEngineConnection();
  frames.watch(connection.asConn);
  const write = (data: unknown, options?: unknown, callback?: unknown): unknown =>
    (connection as unknown as { write: (...args: unknown[]) => unknown }).write(data, options, callback);
  return { connection, sent, write };
}

describe('SocketIoDirectFrames', () => {
  it('writes a broadcast frame as one buffer, built once for every member, and counts its packet', () => {
    const { connection, sent, write } = setUp();
    const other = setUp();
    const options = broadcastOptions();
    write('2[1]', options);
    other.write('2[1]', options);
    expect(connection.engineWrites).toEqual([]);
    expect(connection.sender.frames).toHaveLength(1);
    const [frame] = connection.sender.frames[0]!;
    expect(frame).toEqual(Buffer.from([0x81, 5, ...Buffer.from('42[1]')]));
    expect(other.connection.sender.frames[0]![0]).toBe(frame);
    expect(sent).toEqual([4]);
  });

  it.each([
    ['a packet waits in engine.io', (c: FakeEngineConnection) => c.writeBuffer.push({})],
    ['ws is compressing a message', (c: FakeEngineConnection) => (c.sender._state = 1)],
    ['ws holds a queued message', (c: FakeEngineConnection) => c.sender._queue.push([])],
    ['the WebSocket is closing', (c: FakeEngineConnection) => (c.ws.readyState = 2)],
    ['the connection is closing', (c: FakeEngineConnection) => (c.readyState = 'closing')],
    ['the transport is polling', (c: FakeEngineConnection) => (c.transport.name = 'polling')],
    ['engine.io compresses', (c: FakeEngineConnection) => (c.transport.perMessageDeflate = {})],
  ])('leaves the packet to engine.io when %s', (_case, arrange) => {
    const { connection, sent, write } = setUp();
    arrange(connection);
    const options = broadcastOptions();
    write('2[1]', options);
    expect(connection.sender.frames).toEqual([]);
    expect(connection.engineWrites).toEqual([['2[1]', options, undefined]]);
    expect(sent).toEqual([]);
  });

  it('drops a broadcast frame for a TCP socket already ended under a WebSocket still open', () => {
    // A failed write or a reset destroys the socket; ws learns of it on a later tick. Writing now
    // would only build a write-after-end error per member (measured: most of the server's CPU while
    // 1,000 Socket.IO clients left at once, each departure announced to the others).
    const { connection, sent, write } = setUp();
    connection.tcp.end();
    expect(write('2[1]', broadcastOptions())).toBe(connection);
    expect(connection.sender.frames).toEqual([]);
    expect(connection.engineWrites).toEqual([]);
    expect(sent).toEqual([]);
    const open = setUp();
    open.write('2[1]', broadcastOptions());
    expect(open.connection.sender.frames).toHaveLength(1);
  });

  it('leaves packets that are not pre-encoded broadcasts, want a callback or are volatile, to engine.io', () => {
    const { connection, write } = setUp();
    const callback = jest.fn();
    write('3[1]', { preEncoded: true });
    write('2[1]', broadcastOptions(), callback);
    // Socket.IO drops a volatile packet while engine.io's transport is not writable: engine.io decides.
    write('4[1]', { ...broadcastOptions(), volatile: true });
    expect(connection.sender.frames).toEqual([]);
    expect(connection.engineWrites.map(([data]) => data)).toEqual(['3[1]', '2[1]', '4[1]']);
  });

  describe('frames reaching a member in one turn of the event loop', () => {
    /** A broadcast's options whose one-buffer frame is the text given. */
    const broadcast = (text: string): { wsPreEncodedFrame: Buffer[] } => ({
      wsPreEncodedFrame: [Buffer.from(text.slice(0, 1)), Buffer.from(text.slice(1))],
    });
    const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    it("writes a member's first frame at once and its later ones in one write at the turn's end", async () => {
      const batches = new FrameBatches();
      const a = setUp(1000, batches);
      const b = setUp(1000, batches);
      a.write('2[1]', broadcast('f1'));
      b.write('2[1]', broadcast('f1'));
      a.write('2[2]', broadcast('f2'));
      a.write('2[3]', broadcast('f3'));
      expect(a.connection.tcp.writes).toEqual([['f1']]);
      expect(a.connection.tcp.writableCorked).toBe(1);
      expect(b.connection.tcp.writes).toEqual([['f1']]);
      expect(b.connection.tcp.writableCorked).toBe(0);
      await endOfTurn();
      expect(a.connection.tcp.writes).toEqual([['f1'], ['f2', 'f3']]);
      expect(a.connection.tcp.writableCorked).toBe(0);
      // A new turn: its first frame goes at once again.
      a.write('2[4]', broadcast('f4'));
      expect(a.connection.tcp.writes).toEqual([['f1'], ['f2', 'f3'], ['f4']]);
      expect(a.sent).toEqual([4, 4, 4, 4]);
      await endOfTurn();
      expect(a.connection.tcp.writes).toHaveLength(3);
    });

    it('keeps the order of the frames and of what engine.io writes to the member meanwhile', async () => {
      const { connection, write } = setUp();
      write('2[1]', broadcast('f1'));
      write('2[2]', broadcast('f2'));
      // engine.io's transport writing a packet of its own (an ack, a ping) through the same sender.
      connection.sender.sendFrame([Buffer.from('h'), Buffer.from('ack')]);
      write('2[3]', broadcast('f3'));
      expect(connection.tcp.bytes).toBe('f1');
      await endOfTurn();
      expect(connection.tcp.bytes).toBe('f1f2hackf3');
    });

    it('loses nothing held for a member whose socket ends in the turn', async () => {
      const { connection, write } = setUp();
      write('2[1]', broadcast('f1'));
      write('2[2]', broadcast('f2'));
      connection.tcp.end(Buffer.from('close'));
      expect(connection.tcp.bytes).toBe('f1f2close');
      // The turn's end uncorks a socket that has ended: nothing more, no error.
      await endOfTurn();
      expect(connection.tcp.bytes).toBe('f1f2close');
    });
  });

  it('closes a connection whose WebSocket holds more than the bound after a frame, after the broadcast', async () => {
    const { connection, write } = setUp(100);
    connection.ws.bufferedAmount = 101;
    write('2[1]', broadcastOptions());
    expect(connection.close).not.toHaveBeenCalled();
    await Promise.resolve();
    expect(connection.ws.close).toHaveBeenCalledWith(4508, 'Slow consumer: send buffer full');
    expect(connection.close).toHaveBeenCalledWith(true);
  });
});
