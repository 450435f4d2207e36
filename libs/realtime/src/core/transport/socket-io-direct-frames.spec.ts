// SocketIoDirectFrames on a stand-in engine.io connection: a broadcast's pre-encoded frame goes to the
// WebSocket's sender as one buffer (built once per broadcast), counted and bounded; anything else, or
// anything that would overtake bytes still queued in engine.io or in `ws`, goes through engine.io.
import { EventEmitter } from 'events';
import type { Socket } from 'socket.io';
import { SocketIoDirectFrames } from './socket-io-direct-frames';
import { SocketIoSendBound } from './socket-io-send-bound';

class FakeSender {
  _state = 0;
  _queue: unknown[] = [];
  readonly frames: Buffer[][] = [];
  sendFrame(list: Buffer[]): void {
    this.frames.push(list);
  }
}

class FakeEngineConnection extends EventEmitter {
  readyState = 'open';
  writeBuffer: unknown[] = [];
  readonly engineWrites: unknown[][] = [];
  readonly sender = new FakeSender();
  readonly tcp = { writable: true };
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

function setUp(maxBufferedBytes = 1000) {
  const sent: number[] = [];
  const frames = new SocketIoDirectFrames(
    (bytes) => sent.push(bytes),
    new SocketIoSendBound(maxBufferedBytes),
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
    // The peer's FIN or a failed write ends the socket; ws learns of it on a later tick. Writing now
    // would only build a write-after-end error per member (measured: most of the server's CPU while
    // 1,000 Socket.IO clients left at once, each departure announced to the others).
    const { connection, sent, write } = setUp();
    connection.tcp.writable = false;
    expect(write('2[1]', broadcastOptions())).toBe(connection);
    expect(connection.sender.frames).toEqual([]);
    expect(connection.engineWrites).toEqual([]);
    expect(sent).toEqual([]);
    connection.tcp.writable = true;
    write('2[1]', broadcastOptions());
    expect(connection.sender.frames).toHaveLength(1);
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
