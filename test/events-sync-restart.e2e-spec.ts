// The events API across a restart of the sample: rt_sync serves the modules the host stored (read from
// its ModuleStateSource), and the first change after the restart is compared with the stored state.
import request from 'supertest';
import type { Socket } from 'socket.io-client';
import { RT_SYNC_EVENT, type ModuleUpdatedPayload, type SyncStatePayload } from 'nest-realtime';
import { connectIo, nextEvent, recordEvents } from './support/clients';
import { RestartableSample } from './support/client-sample';

const ACK_TIMEOUT_MS = 5000;

describe('Events API after a restart (module state source)', () => {
  const sample = new RestartableSample();
  const sockets: Socket[] = [];
  let adminToken: string;

  function asAdmin(test: request.Test): request.Test {
    return test.set('Authorization', `Bearer ${adminToken}`);
  }

  async function openModulesPage(): Promise<Socket> {
    const socket = await connectIo(sample.url, { token: adminToken, page: 'modules' });
    sockets.push(socket);
    return socket;
  }

  async function sync(socket: Socket): Promise<SyncStatePayload> {
    return (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(RT_SYNC_EVENT)) as SyncStatePayload;
  }

  beforeAll(async () => {
    await sample.start();
    adminToken = (await sample.login('admin')).token;

    // Two modules with a stored state, then a restart: the library's in-memory cache is gone.
    for (const module of [
      { moduleId: 'MC-1001-STN', name: 'Station principale', type: 'Station' },
      { moduleId: 'MC-2002-PMP', name: 'Pompe nord', type: 'Pump' },
    ]) {
      await asAdmin(request(sample.url).post('/modules')).send(module).expect(201);
    }
    await asAdmin(request(sample.url).post('/modules/MC-1001-STN/telemetry'))
      .send({ telemetry: { temp: 21.5, fan: { rpm: 900 } } })
      .expect(200);
    await asAdmin(request(sample.url).post('/modules/MC-1001-STN/online')).expect(200);

    await sample.stop();
    await sample.start();
    // The token is a JWT signed with the same secret: it stays valid across the restart.
  });

  afterEach(() => {
    while (sockets.length) sockets.pop()?.close();
  });

  afterAll(async () => {
    await sample.dispose();
  });

  it('answers rt_sync with the stored modules, their status, definition and telemetry', async () => {
    const socket = await openModulesPage();

    const state = await sync(socket);

    expect(state.user).toMatchObject({ username: 'admin', isAdmin: true, page: 'modules' });
    expect(state.modules).toHaveLength(2);
    expect(state.modules).toEqual(
      expect.arrayContaining([
        {
          moduleId: 'MC-1001-STN',
          status: 'online',
          definition: { name: 'Station principale', type: 'Station' },
          telemetry: { temp: 21.5, fan: { rpm: 900 } },
        },
        {
          moduleId: 'MC-2002-PMP',
          status: 'offline',
          definition: { name: 'Pompe nord', type: 'Pump' },
        },
      ]),
    );
  });

  it('compares the first changes after the restart with the stored state', async () => {
    const socket = await openModulesPage();
    const seen = recordEvents(socket);

    // The same state as stored: nothing to send.
    const same = await asAdmin(request(sample.url).patch('/modules/MC-2002-PMP'))
      .send({ name: 'Pompe nord', type: 'Pump' })
      .expect(200);
    expect(same.body).toMatchObject({ name: 'Pompe nord', type: 'Pump' });
    const sameTelemetry = await asAdmin(request(sample.url).post('/modules/MC-1001-STN/telemetry'))
      .send({ telemetry: { fan: { rpm: 900 }, temp: 21.5 } })
      .expect(200);
    expect(sameTelemetry.body).toEqual({ moduleId: 'MC-1001-STN', emitted: false });
    const sameStatus = await asAdmin(request(sample.url).post('/modules/MC-1001-STN/online')).expect(200);
    expect(sameStatus.body).toMatchObject({ status: 'online', emitted: false });

    // A different state: sent. Socket.IO keeps order per socket, so when this one has arrived, an
    // event for the unchanged update would have arrived before it.
    const updated = nextEvent<ModuleUpdatedPayload>(socket, 'rt_module_updated');
    await asAdmin(request(sample.url).patch('/modules/MC-2002-PMP')).send({ name: 'Pompe sud' }).expect(200);
    expect(await updated).toEqual({ moduleId: 'MC-2002-PMP', name: 'Pompe sud', type: 'Pump' });

    expect(seen.filter((e) => e.event.startsWith('rt_module') || e.event === 'rt_telemetry_updated')).toEqual(
      [{ event: 'rt_module_updated', payload: { moduleId: 'MC-2002-PMP', name: 'Pompe sud', type: 'Pump' } }],
    );
  });

  it('serves the state changed since the restart on the next rt_sync', async () => {
    const socket = await openModulesPage();

    const state = await sync(socket);

    expect(state.modules).toEqual(
      expect.arrayContaining([
        {
          moduleId: 'MC-2002-PMP',
          status: 'offline',
          definition: { name: 'Pompe sud', type: 'Pump' },
        },
      ]),
    );
  });
});
