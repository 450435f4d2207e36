// Slow and silent clients against the real sample app. A reader that stops reading while its room stays
// busy is closed once `limits.maxBufferedBytes` is queued for it (raw ws: close 4508; Socket.IO: its
// transport closed, a WebSocket with 4508 too), so that the server's memory stays bounded and the other
// members get every message; a peer that stops reading and answering heartbeats is dropped after the
// heartbeat bound; an upgrade never sent in full on the log stream's own port is closed after
// `stream.authTimeoutMs` (docs/limits.md).
import { connect, type Socket as NetSocket } from 'net';
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import type { Socket } from 'socket.io-client';
import { ConnectionLifecycle, StreamPortListener, type RawWsConnection } from 'nest-realtime';
import { ClientAddressLimits } from 'nest-realtime/core/transport/client-address-limits.service';
import { sendBacklogOf } from 'nest-realtime/core/transport/socket-io-send-bound';
import { SocketIoServerRef } from 'nest-realtime/core/transport/socket-io-server.ref';
import { connectIo, TestWs, waitUntil } from './support/clients';
import { PausableIoPeer, PausableWs } from './support/floods';
import { startSample, type RunningSample } from './support/sample-app';

setFlagsFromString('--expose-gc');
/** A full garbage collection, so that what is measured is what the server retains. */
const collectGarbage = runInNewContext('gc') as () => void;

/**
 * What the process retains: the JS heap and Buffers (not `external`, which moves with native memory),
 * after full collections. Buffers' memory is released by V8 in the background after a collection:
 * it gets a few turns of the event loop.
 */
async function retainedBytes(): Promise<number> {
  for (let round = 0; round < 3; round += 1) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const MAX_BUFFERED = 512 * 1024;
/** Each flooded message: 4000 characters of content, about 4.2 KB on the wire. */
const CONTENT = 'x'.repeat(4000);
/** Bytes of one delivered message at most, on either transport. */
const MESSAGE_BYTES = 8 * 1024;
const BATCH = 50;
/** 6,000 messages, about 25 MB for each member: far more than the bound and the kernel's buffers. */
const BATCHES = 120;

/** A member that floods `room` with message batches, each sent once the previous one came back. */
class Flooder {
  private constructor(
    private readonly client: PausableWs,
    private readonly room: string,
  ) {}

  static async join(sample: RunningSample, name: string, room: string): Promise<Flooder> {
    const { token } = await sample.login(name);
    const client = await PausableWs.open(`ws://127.0.0.1:${sample.port}/ws/chat?token=${token}`);
    client.send({ type: 'join_room', data: { room } });
    await client.next('join_room_ack');
    return new Flooder(client, room);
  }

  /**
   * Floods, calling `observe` after each batch came back to the flooder and `caughtUp(sent)` holds
   * (a reading member has it all): the readers keep up, the slow one falls behind.
   */
  async flood(
    observe: () => void,
    caughtUp: (sent: number) => boolean = () => true,
    batches = BATCHES,
  ): Promise<number> {
    let sent = 0;
    for (let batch = 0; batch < batches; batch += 1) {
      const target = this.client.received + BATCH;
      this.client.send({
        type: 'message_batch',
        data: {
          messages: Array.from({ length: BATCH }, () => ({
            type: 'room_message',
            data: { room: this.room, content: CONTENT, message_type: 'text' },
          })),
        },
      });
      sent += BATCH;
      await waitUntil(() => this.client.received >= target && caughtUp(sent), 30_000);
      observe();
    }
    return sent;
  }

  close(): void {
    this.client.terminate();
  }
}

async function member(sample: RunningSample, name: string, room: string): Promise<PausableWs> {
  const { token } = await sample.login(name);
  const client = await PausableWs.open(`ws://127.0.0.1:${sample.port}/ws/chat?token=${token}`);
  client.send({ type: 'join_room', data: { room } });
  await client.next('join_room_ack');
  return client;
}

describe('A slow reader in a busy room', () => {
  let sample: RunningSample;

  beforeAll(async () => {
    sample = await startSample({
      overrides: {
        limits: { maxBufferedBytes: MAX_BUFFERED, rateLimit: { perMinute: 1_000_000, perHour: 10_000_000 } },
        database: { type: 'sqlite', path: ':memory:' },
        // Connection state recovery keeps every broadcast packet for its window: off, so that the
        // memory measured is the slow reader's.
        chat: { recoveryWindowMs: 0 },
      },
    });
    // A first flood, so that what the measured ones find warm (compiled code, caches) is not counted.
    const warmUp = await Flooder.join(sample, 'warm-up', 'warm-up');
    await warmUp.flood(() => undefined, undefined, 20);
    warmUp.close();
  });

  afterAll(async () => {
    await sample?.close();
  });

  it('closes a raw ws reader past limits.maxBufferedBytes with 4508; memory stays bounded', async () => {
    const room = 'busy-raw';
    const flooder = await Flooder.join(sample, 'raw-flooder', room);
    const reader = await member(sample, 'raw-reader', room);
    const slow = await member(sample, 'raw-slow', room);
    const endpoint = sample.app.get(ConnectionLifecycle).endpoint('@rooms');
    const onServer = [...(endpoint?.connections ?? [])].find(
      (connection: RawWsConnection) => connection.identity?.username === 'raw-slow',
    );
    expect(onServer).toBeDefined();
    slow.pause();
    const before = await retainedBytes();
    const readBefore = reader.received;

    let mostQueued = 0;
    const sent = await flooder.flood(
      () => (mostQueued = Math.max(mostQueued, onServer!.socket.bufferedAmount)),
      (count) => reader.received - readBefore >= count,
    );
    // Measured once the reading member got every message: what is left is what the server keeps.
    const retained = (await retainedBytes()) - before;

    // Closed by the server (its close frame waits behind what was queued), never queued past the bound.
    expect(onServer!.isOpen).toBe(false);
    expect(mostQueued).toBeGreaterThan(0);
    expect(mostQueued).toBeLessThanOrEqual(MAX_BUFFERED + MESSAGE_BYTES);
    // Without the bound the server would hold most of the ~25 MB sent to the slow reader.
    expect(retained).toBeLessThan(8 * MAX_BUFFERED);
    expect(reader.received - readBefore).toBe(sent);
    // The slow reader, reading again, gets what was queued, then the close.
    slow.resume();
    expect(await slow.closed).toEqual({ code: 4508, reason: 'Slow consumer: send buffer full' });
    flooder.close();
    reader.terminate();
  });

  it('closes a Socket.IO reader past limits.maxBufferedBytes, its transport with 4508; memory stays bounded', async () => {
    const room = 'general';
    const flooder = await Flooder.join(sample, 'io-flooder', room);
    const { token } = await sample.login('io-slow');
    const slow = await PausableIoPeer.open(sample.url, { token });
    const reading: Socket = await connectIo(sample.url, { token: (await sample.login('io-reader')).token });
    let readerGot = 0;
    reading.on('message', () => (readerGot += 1));
    const server = sample.app.get(SocketIoServerRef).get();
    const onServer = server?.of('/').sockets.get(slow.sid);
    expect(onServer).toBeDefined();
    const disconnected = new Promise<string>((resolve) => onServer!.once('disconnect', resolve));
    slow.client.pause();
    const before = await retainedBytes();

    let mostQueued = 0;
    const sent = await flooder.flood(
      () => (mostQueued = Math.max(mostQueued, sendBacklogOf(onServer!.conn))),
      (count) => readerGot >= count,
    );
    const retained = (await retainedBytes()) - before;

    expect(await disconnected).toBe('forced close');
    expect(server?.of('/').sockets.has(slow.sid)).toBe(false);
    expect(mostQueued).toBeGreaterThan(0);
    expect(mostQueued).toBeLessThanOrEqual(MAX_BUFFERED + MESSAGE_BYTES);
    expect(retained).toBeLessThan(8 * MAX_BUFFERED);
    expect(readerGot).toBe(sent);
    slow.client.resume();
    expect(await slow.client.closed).toEqual({ code: 4508, reason: 'Slow consumer: send buffer full' });
    reading.close();
    flooder.close();
  });
});

describe('Silent peers and unfinished upgrades', () => {
  const HEARTBEAT_MS = 200;
  const AUTH_TIMEOUT_MS = 1000;
  let sample: RunningSample;
  let streamPort = 0;

  beforeAll(async () => {
    sample = await startSample({
      overrides: {
        limits: { heartbeatIntervalMs: HEARTBEAT_MS, heartbeatTimeoutMs: HEARTBEAT_MS },
        stream: { port: 0, host: '127.0.0.1', authTimeoutMs: AUTH_TIMEOUT_MS },
      },
    });
    streamPort = sample.app.get(StreamPortListener).port ?? 0;
  });

  afterAll(async () => {
    await sample?.close();
  });

  it('drops a raw ws peer that stops reading (and so answering pings), giving its address back', async () => {
    const limits = sample.app.get(ClientAddressLimits);
    const peer = await member(sample, 'half-open', 'quiet');
    expect(limits.openFrom('127.0.0.1')).toBe(1);
    const endpoint = sample.app.get(ConnectionLifecycle).endpoint('@rooms');
    peer.pause();
    // Dropped at the sweep that finds two pings unanswered: within 3 heartbeat intervals (the wait
    // is generous for a busy machine).
    await waitUntil(() => endpoint?.connections.size === 0, 10_000);
    expect(limits.openFrom('127.0.0.1')).toBe(0);
    peer.terminate();
  });

  it('drops a Socket.IO peer that stops reading, after pingInterval + pingTimeout', async () => {
    const limits = sample.app.get(ClientAddressLimits);
    const { token } = await sample.login('half-open-io');
    const peer = await PausableIoPeer.open(sample.url, { token });
    const server = sample.app.get(SocketIoServerRef).get();
    expect(server?.of('/').sockets.has(peer.sid)).toBe(true);
    peer.client.pause();
    await waitUntil(() => server?.of('/').sockets.has(peer.sid) === false, 10_000);
    await waitUntil(() => limits.openFrom('127.0.0.1') === 0, 10_000);
    peer.client.terminate();
  });

  /** A TCP client of the stream port that sends `bytes` (maybe nothing) and stops: what it gets back. */
  function stalledClient(bytes: string): Promise<{ answer: string; closed: boolean }> {
    return new Promise((resolve, reject) => {
      let answer = '';
      const socket: NetSocket = connect(streamPort, '127.0.0.1', () => {
        if (bytes !== '') socket.write(bytes);
      });
      socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ answer, closed: true });
      });
      socket.on('error', reject);
      // authTimeoutMs + one check, with room to spare on a busy machine.
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ answer, closed: false });
      }, 10 * AUTH_TIMEOUT_MS);
    });
  }

  it('closes, on the stream port, an upgrade sent in part and a connection that sends nothing', async () => {
    // An upgraded connection of the same port is not concerned by the request timeouts.
    const { token } = await sample.login('stream-reader', { appId: 'stalls' });
    const upgraded = await TestWs.open(`ws://127.0.0.1:${streamPort}/?token=${token}`);
    await upgraded.next('auth_success');

    const half = `GET /?token=x HTTP/1.1\r\nHost: 127.0.0.1:${streamPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`;
    const [partial, silent] = await Promise.all([stalledClient(half), stalledClient('')]);
    expect(partial).toEqual({ answer: expect.stringContaining('408 Request Timeout'), closed: true });
    expect(silent).toEqual({ answer: expect.stringContaining('408 Request Timeout'), closed: true });

    upgraded.send({ type: 'ping', payload: {} });
    await upgraded.next('pong');
    upgraded.close();
  });
});
