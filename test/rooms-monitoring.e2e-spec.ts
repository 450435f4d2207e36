// The rooms endpoint's monitoring against the real sample app: what GET /metrics counts after real
// clients join, post, fail, drop and reconnect, and the log lines a host logger receives.
import type { LoggerService } from '@nestjs/common';
import request from 'supertest';
import { TestWs, waitUntil, type WsFrame } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

const CONTENT = 'never-in-the-logs 4f1c';

/** Every line the app logs, whatever its level, as the host's LoggerService would get it. */
class CapturingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string }> = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  debug(message: unknown): void {
    this.lines.push({ level: 'debug', message: String(message) });
  }
  verbose(message: unknown): void {
    this.lines.push({ level: 'verbose', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
  matching(pattern: RegExp): Array<{ level: string; message: string }> {
    return this.lines.filter((line) => pattern.test(line.message));
  }
}

/** The value of one sample line of the exposition, e.g. `name{label="x"}`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no ${series} in the exposition`);
  return Number(line.slice(series.length + 1));
}

describe('Rooms endpoint monitoring', () => {
  let app: RunningSample;
  let logger: CapturingLogger;

  beforeAll(async () => {
    // Per-message lines are asked for with rooms.logMessages; the host's logger instance gets them at
    // debug level without any Nest log levels being set (its own levels would decide).
    app = await startSample({ overrides: { rooms: { logMessages: true } } });
    logger = new CapturingLogger();
    app.app.useLogger(logger);
  });

  afterAll(async () => {
    app.app.useLogger(false);
    await app.close();
  });

  it('counts messages in and out by type, errors by code, reconnections and handling time, and logs no content', async () => {
    const alice = await app.login('mon-alice');
    const bob = await app.login('mon-bob');
    const open = (token: string) => TestWs.open(`ws://127.0.0.1:${app.port}/ws/chat?token=${token}`);

    // A refused handshake is a connection error too.
    const refused = await TestWs.open(`ws://127.0.0.1:${app.port}/ws/chat?token=forged`);
    expect((await refused.next('error')).data).toMatchObject({ code: 'AUTH_FAILED' });
    await refused.closedWithin();

    const a = await open(alice.token);
    const b = await open(bob.token);
    a.send({ type: 'join_room', data: { room: 'general' } });
    await a.next('join_room_ack');
    b.send({ type: 'join_room', data: { room: 'general' } });
    await b.next('join_room_ack');
    await a.next('user_connected');

    a.send({ type: 'room_message', data: { room: 'general', content: CONTENT } });
    await a.next('room_message');
    await b.next('room_message');
    b.send({ type: 'direct_message', data: { to_user_id: Number(alice.user.id), content: CONTENT } });
    await a.next('direct_message');
    await b.next('direct_message');

    a.send('not json at all');
    a.send({ type: 'made_up', data: { content: CONTENT } });
    a.send({ type: 'leave_room', data: { room: 'no-such-room-monitoring' } });
    const errors: WsFrame[] = [await a.next('error'), await a.next('error'), await a.next('error')];
    expect(errors.map((e) => (e.data as { code: string }).code)).toEqual([
      'INVALID_FORMAT',
      'INVALID_FORMAT',
      'ROOM_NOT_FOUND',
    ]);
    a.send({ type: 'ping', data: {} });
    await a.next('pong');

    // Alice drops and comes back within the minute: one reconnection.
    // 1001 "going away", as a browser closing its tab sends it: the line gives the client's code.
    a.socket.close(1001);
    expect((await a.closedWithin()).code).toBe(1001);
    await b.next('user_disconnected');
    await waitUntil(
      () => logger.matching(new RegExp(`^WS_DISCONNECT: UserID=${alice.user.id},`)).length === 1,
    );
    const again = await open(alice.token);

    const metrics = (await request(app.url).get('/metrics').expect(200)).text;
    const received = (type: string) =>
      sample(metrics, `realtime_rooms_messages_received_total{type="${type}"}`);
    const sent = (type: string) => sample(metrics, `realtime_rooms_messages_sent_total{type="${type}"}`);
    const errorsOf = (code: string) =>
      sample(metrics, `realtime_rooms_connection_errors_total{code="${code}"}`);
    expect({
      join_room: received('join_room'),
      room_message: received('room_message'),
      direct_message: received('direct_message'),
      leave_room: received('leave_room'),
      ping: received('ping'),
      unknown: received('unknown'),
    }).toEqual({ join_room: 2, room_message: 1, direct_message: 1, leave_room: 1, ping: 1, unknown: 2 });
    expect({
      join_room_ack: sent('join_room_ack'),
      user_connected: sent('user_connected'),
      room_message: sent('room_message'),
      direct_message: sent('direct_message'),
      error: sent('error'),
      pong: sent('pong'),
      user_disconnected: sent('user_disconnected'),
    }).toEqual({
      join_room_ack: 2,
      user_connected: 1,
      room_message: 2,
      direct_message: 2,
      error: 4,
      pong: 1,
      user_disconnected: 1,
    });
    expect({
      AUTH_FAILED: errorsOf('AUTH_FAILED'),
      INVALID_FORMAT: errorsOf('INVALID_FORMAT'),
      ROOM_NOT_FOUND: errorsOf('ROOM_NOT_FOUND'),
      PERMISSION_DENIED: errorsOf('PERMISSION_DENIED'),
    }).toEqual({ AUTH_FAILED: 1, INVALID_FORMAT: 2, ROOM_NOT_FOUND: 1, PERMISSION_DENIED: 0 });
    expect(sample(metrics, 'realtime_rooms_reconnections_total')).toBe(1);
    expect(sample(metrics, 'realtime_rooms_active_connections')).toBe(2);
    expect(sample(metrics, 'realtime_rooms_message_handling_seconds_count{type="room_message"}')).toBe(1);
    expect(sample(metrics, 'realtime_rooms_message_handling_seconds_count{type="join_room"}')).toBe(2);
    expect(
      sample(metrics, 'realtime_rooms_message_handling_seconds_bucket{le="+Inf",type="room_message"}'),
    ).toBe(1);

    // The log lines: connect (no peer address) and disconnect at log level with their fields, messages
    // at debug level.
    const connects = logger.matching(new RegExp(`^WS_CONNECT: UserID=${alice.user.id},`));
    expect(connects).toHaveLength(2);
    for (const line of connects) {
      expect(line).toEqual({
        level: 'log',
        message: expect.stringMatching(new RegExp(`^WS_CONNECT: UserID=${alice.user.id}, Path=/ws/chat$`)),
      });
    }
    expect(logger.matching(new RegExp(`^WS_DISCONNECT: UserID=${alice.user.id},`))).toEqual([
      {
        level: 'log',
        message: expect.stringMatching(
          new RegExp(
            `^WS_DISCONNECT: UserID=${alice.user.id}, Path=/ws/chat, Duration=\\d+\\.\\d{3}s, Code=1001$`,
          ),
        ),
      },
    ]);
    expect(logger.matching(/^WS_MESSAGE: Type=room_message,/)).toEqual([
      {
        level: 'debug',
        message: expect.stringMatching(
          new RegExp(
            `^WS_MESSAGE: Type=room_message, UserID=${alice.user.id}, Room=general, Handling=[\\d.]+ms$`,
          ),
        ),
      },
    ]);
    const everything = logger.lines.map((line) => line.message).join('\n');
    expect(everything).not.toContain(CONTENT);
    expect(everything).not.toContain(alice.token);
    expect(everything).not.toContain('made_up');

    again.close();
    b.close();
    await Promise.all([again.closedWithin(), b.closedWithin()]);
  });
});
