// SocketIoSendBound on a stand-in engine.io connection: what waits in the write buffer and in the
// WebSocket counts; a flush empties the former; past the bound the WebSocket is closed with 4508 and
// the connection closed without flushing, once, on the next tick (never inside the broadcast).
import { EventEmitter } from 'events';
import type { Socket } from 'socket.io';
import { RealtimeCloseCode } from '../../protocol';
import { sendBacklogOf, SocketIoSendBound } from './socket-io-send-bound';

class FakeWebSocket {
  bufferedAmount = 0;
  readyState = 1;
  readonly closes: Array<[number, string]> = [];
  close(code: number, reason: string): void {
    this.readyState = 2;
    this.closes.push([code, reason]);
  }
}

class FakeEngineConnection extends EventEmitter {
  readyState = 'open';
  readonly discards: boolean[] = [];
  constructor(readonly transport: { name: string; socket?: FakeWebSocket }) {
    super();
  }
  /** engine.io emits packetCreate before queuing; a writable transport flushes at once ('drain'). */
  packet(data: string, flushed: boolean): void {
    this.emit('packetCreate', { type: 'message', data });
    if (flushed) this.emit('drain');
  }
  close(discard?: boolean): void {
    this.discards.push(discard === true);
    this.readyState = 'closed';
  }
  get asConn(): Socket['conn'] {
    return this as unknown as Socket['conn'];
  }
}

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));

describe('SocketIoSendBound', () => {
  it('counts the write buffer and the WebSocket, the buffer emptied at each flush', () => {
    const ws = new FakeWebSocket();
    const connection = new FakeEngineConnection({ name: 'websocket', socket: ws });
    new SocketIoSendBound(1000).watch(connection.asConn);
    connection.packet('x'.repeat(100), false);
    connection.packet('x'.repeat(50), false);
    ws.bufferedAmount = 30;
    expect(sendBacklogOf(connection.asConn)).toBe(180);
    connection.emit('drain');
    ws.bufferedAmount = 180;
    expect(sendBacklogOf(connection.asConn)).toBe(180);
    connection.packet('x'.repeat(10), true);
    expect(sendBacklogOf(connection.asConn)).toBe(180);
  });

  it('closes a WebSocket client past the bound with 4508, then its connection without flushing, once', async () => {
    const ws = new FakeWebSocket();
    const connection = new FakeEngineConnection({ name: 'websocket', socket: ws });
    new SocketIoSendBound(1000).watch(connection.asConn);
    ws.bufferedAmount = 900;
    connection.packet('x'.repeat(100), false);
    expect(ws.closes).toEqual([]);
    connection.packet('x'.repeat(1), false);
    connection.packet('x'.repeat(500), false);
    // Not inside the broadcast that created the packet.
    expect(ws.closes).toEqual([]);
    await nextTick();
    expect(ws.closes).toEqual([[RealtimeCloseCode.SLOW_CONSUMER, 'Slow consumer: send buffer full']]);
    expect(connection.discards).toEqual([true]);
  });

  it('bounds a long-polling client by its write buffer alone', async () => {
    const connection = new FakeEngineConnection({ name: 'polling' });
    new SocketIoSendBound(100).watch(connection.asConn);
    connection.packet('x'.repeat(60), false);
    connection.packet('x'.repeat(40), false);
    await nextTick();
    expect(connection.discards).toEqual([]);
    connection.packet('x', false);
    await nextTick();
    expect(connection.discards).toEqual([true]);
  });

  it('watches a connection once, however many namespaces it joins', async () => {
    const connection = new FakeEngineConnection({ name: 'polling' });
    const bound = new SocketIoSendBound(100);
    bound.watch(connection.asConn);
    bound.watch(connection.asConn);
    connection.packet('x'.repeat(60), false);
    expect(sendBacklogOf(connection.asConn)).toBe(60);
    await nextTick();
    expect(connection.discards).toEqual([]);
  });
});
