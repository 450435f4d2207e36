// allowedOrigins: one browser-origin allow-list for every transport. A connection from another origin
// is refused with PERMISSION_DENIED "Origin not allowed" (close 4403 on raw ws, connect_error on
// Socket.IO); an allowed origin and a client that sends no Origin (a server, the SDK in Node) connect.
import { resolveRealtimeOptions } from 'nest-realtime';
import { Clients, ioRefusal, signToken, TestWs } from './support/clients';
import { startSample, type RunningSample } from './support/sample-app';

const ALLOWED = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

describe('allowedOrigins on every transport', () => {
  let sample: RunningSample;
  const clients = new Clients();

  beforeAll(async () => {
    sample = await startSample({ overrides: { allowedOrigins: [ALLOWED] } });
  });

  afterEach(() => clients.closeAll());

  afterAll(async () => {
    await sample?.close();
  });

  const token = (sub: string, extra: Record<string, unknown> = {}) =>
    signToken({ sub, username: `u${sub}`, ...extra });

  it.each([
    ['the rooms endpoint', '/ws/chat', {}],
    ['the log stream', '/ws/logs', { appId: 'origins-app' }],
  ])('%s refuses another origin with PERMISSION_DENIED and close 4403', async (_name, path, claims) => {
    const url = `ws://127.0.0.1:${sample.port}${path}?token=${token('o1', claims)}`;
    const refused = clients.track(await TestWs.open(url, { headers: { Origin: OTHER } }));
    const closed = await refused.closedWithin();
    expect(closed).toEqual({ code: 4403, reason: 'Origin not allowed' });
    expect(JSON.stringify(refused.frames)).toContain('PERMISSION_DENIED');
  });

  it('the rooms endpoint takes the allowed origin and a client without Origin', async () => {
    for (const headers of [{ Origin: ALLOWED }, {}] as Array<Record<string, string>>) {
      const url = `ws://127.0.0.1:${sample.port}/ws/chat?token=${token('o2')}`;
      const client = await clients.ws(url, { headers });
      client.send({ type: 'ping', data: {} });
      await client.next('pong');
    }
  });

  it('Socket.IO refuses another origin in connect_error and takes the allowed one and none', async () => {
    const refusal = await ioRefusal(sample.url, { token: token('o3') }, { extraHeaders: { Origin: OTHER } });
    expect(refusal.data).toMatchObject({ code: 'PERMISSION_DENIED', message: 'Origin not allowed' });
    const allowed = await clients.io(
      sample.url,
      { token: token('o3') },
      { extraHeaders: { Origin: ALLOWED } },
    );
    expect(allowed.connected).toBe(true);
    const serverSide = await clients.io(sample.url, { token: token('o4') });
    expect(serverSide.connected).toBe(true);
  });

  it('refuses an entry that is not an origin, naming it', () => {
    expect(() =>
      resolveRealtimeOptions({
        auth: { secret: 'a-test-secret-of-32-characters!!' },
        allowedOrigins: ['https://app.example.com/'],
      }),
    ).toThrow(/allowedOrigins\[0\].*scheme:\/\/host\[:port\]/);
  });
});
