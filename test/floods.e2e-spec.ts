// Floods of connections from one client address against the real sample app. Attempts past
// `limits.maxHandshakesPerSecondPerIp` are refused with RATE_LIMITED and when to retry, connections past
// `limits.maxConnectionsPerIp` with CONNECTION_LIMIT (raw ws: `error` frame, close 4429; Socket.IO: the
// coded connect_error), on every transport together, while users connected from another address keep
// chatting untouched. Behind a trusted proxy the limits apply per forwarded client; without one the
// forwarded header is ignored.
import type { Socket } from 'socket.io-client';
import { StreamPortListener } from 'nest-realtime';
import { ClientAddressLimits } from 'nest-realtime/core/transport/client-address-limits.service';
import { connectIo, signToken, TestWs, waitUntil } from './support/clients';
import { attemptIo, attemptRawWs, inWaves, tally, type AttemptOutcome } from './support/floods';
import { startSample, type RunningSample } from './support/sample-app';

const FLOODER = '127.0.0.1';
const NEIGHBOUR = '127.0.0.2';
const NO_MESSAGE_LIMIT = { perMinute: 1_000_000, perHour: 10_000_000 };

interface ChatMessage {
  message: string;
}

function floodToken(index: number): string {
  return signToken({ sub: `flood-${index}`, username: `flood${index}` });
}

function closeAccepted(outcomes: AttemptOutcome[]): void {
  for (const outcome of outcomes) if (outcome.kind === 'accepted') outcome.close();
}

describe('A flood of 2,000 handshakes from one address', () => {
  const MAX_PER_IP = 50;
  const ATTEMPTS = 2000;
  let sample: RunningSample;

  beforeAll(async () => {
    sample = await startSample({
      overrides: {
        limits: { maxConnectionsPerIp: MAX_PER_IP, rateLimit: NO_MESSAGE_LIMIT },
        database: { type: 'sqlite', path: ':memory:' },
      },
    });
  });

  afterAll(async () => {
    await sample?.close();
  });

  it('refuses what passes the limits with coded errors, while users from another address chat on', async () => {
    const limits = sample.app.get(ClientAddressLimits);
    // Two users of the neighbouring address: one on the rooms endpoint, one on the Socket.IO chat,
    // both in the lobby room `general`.
    const [alice, bob] = [await sample.login('alice'), await sample.login('bob')];
    const rooms = await TestWs.open(`ws://127.0.0.1:${sample.port}/ws/chat?token=${alice.token}`, {
      localAddress: NEIGHBOUR,
    });
    rooms.send({ type: 'join_room', data: { room: 'general' } });
    await rooms.next('join_room_ack');
    const chat: Socket = await connectIo(sample.url, { token: bob.token }, { localAddress: NEIGHBOUR });
    expect(limits.openFrom(NEIGHBOUR)).toBe(2);

    const dropped: string[] = [];
    void rooms.closed.then(({ code }) => dropped.push(`rooms closed ${code}`));
    chat.on('disconnect', (reason) => dropped.push(`chat ${reason}`));
    const atChat: string[] = [];
    chat.on('message', (message: ChatMessage) => atChat.push(message.message));
    const atRooms: string[] = [];
    const roomMessages = (): string[] => {
      for (let frame = rooms.frames.shift(); frame; frame = rooms.frames.shift()) {
        if (frame.type === 'room_message') atRooms.push((frame.data as { content: string }).content);
      }
      return atRooms;
    };

    // They talk, one message each in turn, for as long as the flood lasts.
    const sent: string[] = [];
    let flooding = true;
    const talking = (async () => {
      for (let turn = 0; flooding; turn += 1) {
        const text = `turn ${turn}`;
        sent.push(text);
        // Each message is stored (its copy back, its ack) before the next is sent: one order for all.
        if (turn % 2 === 0) {
          rooms.send({
            type: 'room_message',
            data: { room: 'general', content: text, message_type: 'text' },
          });
          await waitUntil(() => roomMessages().includes(text), 10_000);
        } else await chat.timeout(10_000).emitWithAck('message', { message: text });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();

    const outcomes = await inWaves(ATTEMPTS, 40, (index) =>
      index % 2 === 0
        ? attemptRawWs(`ws://127.0.0.1:${sample.port}/ws/chat?token=${floodToken(index)}`, {
            localAddress: FLOODER,
          })
        : attemptIo(sample.url, { token: floodToken(index) }, { localAddress: FLOODER }),
    );
    flooding = false;
    await talking;

    // Every attempt ended, none hung and none failed without a coded refusal.
    const counts = tally(outcomes);
    expect(Object.keys(counts).sort()).toEqual([
      'accepted',
      'refused:CONNECTION_LIMIT',
      'refused:RATE_LIMITED',
    ]);
    expect(counts.accepted! + counts['refused:CONNECTION_LIMIT']! + counts['refused:RATE_LIMITED']!).toBe(
      ATTEMPTS,
    );
    // The first 100 attempts pass the rate (a burst of the limit): exactly the cap of them stay open.
    expect(counts.accepted).toBe(MAX_PER_IP);
    expect(limits.openFrom(FLOODER)).toBe(MAX_PER_IP);
    for (const outcome of outcomes) {
      if (outcome.kind !== 'refused') continue;
      if (outcome.code === 'RATE_LIMITED') {
        expect(outcome.details).toEqual({
          retry_after_ms: expect.any(Number),
          limit: 100,
          window: 'second',
          bucket: 'handshake',
        });
        expect(outcome.details.retry_after_ms).toBeGreaterThanOrEqual(1);
        expect(outcome.details.retry_after_ms).toBeLessThanOrEqual(1000);
      } else {
        expect(outcome.details).toEqual({ max_connections_per_ip: MAX_PER_IP });
      }
    }
    // Raw ws refusals carry close code 4429; both transports saw both refusals.
    const rawRefusals = outcomes.filter((o, i) => i % 2 === 0 && o.kind === 'refused');
    expect(rawRefusals.every((o) => o.kind === 'refused' && o.closeCode === 4429)).toBe(true);
    const codesOf = (parity: number) =>
      new Set(
        outcomes
          .filter((o, i) => i % 2 === parity && o.kind === 'refused')
          .map((o) => (o as { code: string }).code),
      );
    expect(codesOf(0)).toEqual(new Set(['RATE_LIMITED', 'CONNECTION_LIMIT']));
    expect(codesOf(1)).toEqual(new Set(['RATE_LIMITED', 'CONNECTION_LIMIT']));

    // The neighbours got every message, in order, and were never disconnected.
    await waitUntil(() => roomMessages().length >= sent.length && atChat.length >= sent.length, 15_000);
    expect(roomMessages()).toEqual(sent);
    expect(atChat).toEqual(sent);
    expect(dropped).toEqual([]);
    expect(sent.length).toBeGreaterThan(4);

    // Nothing of the flood stays counted once its connections close.
    closeAccepted(outcomes);
    await waitUntil(() => limits.openFrom(FLOODER) === 0, 10_000);
    expect(limits.openFrom(NEIGHBOUR)).toBe(2);
    rooms.close();
    chat.close();
    await waitUntil(() => limits.trackedAddresses.open === 0, 10_000);
  });

  it('takes a full burst from the flooding address again after a second without attempts', async () => {
    // The bucket refills at the limit per second: a second without attempts fills it (not a wait for
    // something to arrive, the rule under test).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const burst = await Promise.all(
      Array.from({ length: MAX_PER_IP }, (_, index) =>
        index % 2 === 0
          ? attemptRawWs(`ws://127.0.0.1:${sample.port}/ws/chat?token=${floodToken(index)}`, {
              localAddress: FLOODER,
            })
          : attemptIo(sample.url, { token: floodToken(index) }, { localAddress: FLOODER }),
      ),
    );
    expect(tally(burst)).toEqual({ accepted: MAX_PER_IP });
    closeAccepted(burst);
  });
});

describe('Per-address limits behind a trusted proxy', () => {
  const MAX_PER_IP = 3;
  let sample: RunningSample;
  let streamPort = 0;

  beforeAll(async () => {
    sample = await startSample({
      overrides: {
        trustedProxies: ['loopback'],
        limits: { maxConnectionsPerIp: MAX_PER_IP, maxHandshakesPerSecondPerIp: 10 },
        stream: { port: 0, host: '127.0.0.1' },
      },
    });
    streamPort = sample.app.get(StreamPortListener).port ?? 0;
  });

  afterAll(async () => {
    await sample?.close();
  });

  const forwardedFor = (address: string) => ({ 'X-Forwarded-For': address });
  const rooms = (sub: string, address: string) =>
    attemptRawWs(`ws://127.0.0.1:${sample.port}/ws/chat?token=${signToken({ sub, username: sub })}`, {
      headers: forwardedFor(address),
    });
  const stream = (sub: string, address: string) =>
    attemptRawWs(
      `ws://127.0.0.1:${streamPort}/?token=${signToken({ sub, username: sub, appId: 'proxy-app' })}`,
      {
        headers: forwardedFor(address),
        envelope: 'payload',
      },
    );
  const chat = (sub: string, address: string) =>
    attemptIo(
      sample.url,
      { token: signToken({ sub, username: sub }) },
      { extraHeaders: forwardedFor(address) },
    );

  it('counts the open connections of each forwarded client, all transports together', async () => {
    const limits = sample.app.get(ClientAddressLimits);
    const first = [
      await rooms('p1', '203.0.113.1'),
      await chat('p2', '203.0.113.1'),
      await stream('p3', '203.0.113.1'),
    ];
    expect(first.map((o) => o.kind)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(limits.openFrom('203.0.113.1')).toBe(3);
    expect(limits.openFrom('127.0.0.1')).toBe(0);

    const refused = [
      await rooms('p4', '203.0.113.1'),
      await chat('p5', '203.0.113.1'),
      await stream('p6', '203.0.113.1'),
    ];
    expect(refused).toEqual([
      { kind: 'refused', code: 'CONNECTION_LIMIT', details: { max_connections_per_ip: 3 }, closeCode: 4429 },
      { kind: 'refused', code: 'CONNECTION_LIMIT', details: { max_connections_per_ip: 3 }, closeCode: null },
      { kind: 'refused', code: 'CONNECTION_LIMIT', details: { max_connections_per_ip: 3 }, closeCode: 4429 },
    ]);
    // What a client writes left of the address its proxy appended is not believed.
    const spoofing = await rooms('p7', '198.51.100.99, 203.0.113.1');
    expect(spoofing).toMatchObject({ kind: 'refused', code: 'CONNECTION_LIMIT' });
    // Another client behind the same proxy is not concerned.
    const other = await chat('p8', '203.0.113.2');
    expect(other.kind).toBe('accepted');

    // A closed connection gives its place back.
    closeAccepted(first.slice(0, 1));
    await waitUntil(() => limits.openFrom('203.0.113.1') === 2);
    const again = await rooms('p9', '203.0.113.1');
    expect(again.kind).toBe('accepted');
    closeAccepted([...first, other, again]);
    await waitUntil(() => limits.trackedAddresses.open === 0);
  });

  it('rate-limits the handshakes of each forwarded client apart', async () => {
    const burst = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 2 === 0 ? rooms(`r${i}`, '203.0.113.3') : chat(`r${i}`, '203.0.113.3'),
      ),
    );
    const counts = tally(burst);
    expect(counts.accepted).toBe(MAX_PER_IP);
    expect(counts['refused:RATE_LIMITED']).toBeGreaterThanOrEqual(1);
    expect(
      counts.accepted! + (counts['refused:RATE_LIMITED'] ?? 0) + (counts['refused:CONNECTION_LIMIT'] ?? 0),
    ).toBe(30);
    const neighbour = await rooms('r-other', '203.0.113.4');
    expect(neighbour.kind).toBe('accepted');
    closeAccepted([...burst, neighbour]);
  });
});

describe('Per-address limits without a trusted proxy', () => {
  let sample: RunningSample;

  beforeAll(async () => {
    sample = await startSample({ overrides: { limits: { maxConnectionsPerIp: 2 } } });
  });

  afterAll(async () => {
    await sample?.close();
  });

  it('ignores X-Forwarded-For: a client cannot spoof its way past the limit', async () => {
    const attempt = (sub: string, address: string) =>
      attemptRawWs(`ws://127.0.0.1:${sample.port}/ws/chat?token=${signToken({ sub, username: sub })}`, {
        headers: { 'X-Forwarded-For': address },
      });
    const ioAttempt = (sub: string, address: string) =>
      attemptIo(
        sample.url,
        { token: signToken({ sub, username: sub }) },
        { extraHeaders: { 'X-Forwarded-For': address } },
      );
    const accepted = [await attempt('s1', '203.0.113.1'), await ioAttempt('s2', '203.0.113.2')];
    expect(accepted.map((o) => o.kind)).toEqual(['accepted', 'accepted']);
    expect(await attempt('s3', '203.0.113.3')).toMatchObject({
      kind: 'refused',
      code: 'CONNECTION_LIMIT',
      closeCode: 4429,
    });
    expect(await ioAttempt('s4', '203.0.113.4')).toMatchObject({ kind: 'refused', code: 'CONNECTION_LIMIT' });
    expect(sample.app.get(ClientAddressLimits).openFrom('127.0.0.1')).toBe(2);
    closeAccepted(accepted);
  });
});
