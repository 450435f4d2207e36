// Delivery from the conversation bus: a room message is serialised once for all its recipients, a
// direct message reaches both users' connections once each, and a failing delivery never reaches
// the publisher.
import { ConversationBus } from '../conversations/conversation-bus';
import type { StoredMessage } from '../conversations/conversation.types';
import { storedMessage } from '../conversations/stored-message.helper-spec';
import type { Envelope } from '../protocol';
import { RoomMembersRegistry } from './room-members.registry';
import { RoomsDelivery } from './rooms-delivery.service';
import { RoomsMonitor } from './rooms-monitor.service';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import { identity, recordingConnection } from './recording-connection.helper-spec';

function stored(overrides: Partial<StoredMessage> = {}): StoredMessage {
  return storedMessage({ id: 7, ...overrides });
}

describe('RoomsDelivery', () => {
  let bus: ConversationBus;
  let registry: RoomMembersRegistry;
  let delivery: RoomsDelivery;
  let monitor: RoomsMonitor;

  beforeEach(() => {
    bus = new ConversationBus(null);
    registry = new RoomMembersRegistry();
    monitor = new RoomsMonitor(new TransportCounters());
    delivery = new RoomsDelivery(bus, registry, monitor);
    delivery.onApplicationBootstrap();
  });
  afterEach(() => {
    delivery.beforeApplicationShutdown();
    bus.onModuleDestroy();
  });

  it('serialises a room message once and writes the same string to every member', () => {
    const members = Array.from({ length: 5 }, () => recordingConnection());
    members.forEach(({ connection }, i) => {
      registry.connect(connection, identity(String(i + 1)), false);
      registry.join(connection, 'general');
    });
    const outsider = recordingConnection();
    registry.connect(outsider.connection, identity('99'), false);
    const stringify = jest.spyOn(JSON, 'stringify');
    try {
      bus.publish({ kind: 'room', room: 'general', message: stored() });
      expect(stringify).toHaveBeenCalledTimes(1);
    } finally {
      stringify.mockRestore();
    }
    const first = members[0]?.sent[0];
    expect((JSON.parse(first ?? '') as Envelope).type).toBe('room_message');
    for (const member of members) expect(member.sent).toEqual([first]);
    expect(outsider.sent).toEqual([]);
  });

  it('sends a direct message to every connection of both users, once each', () => {
    const a1 = recordingConnection();
    const a2 = recordingConnection();
    const b = recordingConnection();
    const c = recordingConnection();
    registry.connect(a1.connection, identity('1'), false);
    registry.connect(a2.connection, identity('1'), false);
    registry.connect(b.connection, identity('2'), false);
    registry.connect(c.connection, identity('3'), false);
    bus.publish({ kind: 'direct', message: stored({ room: null, recipientId: '2' }) });
    expect([a1.sent.length, a2.sent.length, b.sent.length, c.sent.length]).toEqual([1, 1, 1, 0]);
    // A note to self reaches the user's connections once.
    bus.publish({ kind: 'direct', message: stored({ room: null, recipientId: '1' }) });
    expect([a1.sent.length, a2.sent.length]).toEqual([2, 2]);
  });

  it('closes a slow member through fanOut and keeps delivering to the others', () => {
    const slow = recordingConnection();
    const fine = recordingConnection();
    registry.connect(slow.connection, identity('1'), false);
    registry.connect(fine.connection, identity('2'), false);
    registry.join(slow.connection, 'general');
    registry.join(fine.connection, 'general');
    slow.socket.bufferedAmount = 10_000;
    bus.publish({ kind: 'room', room: 'general', message: stored() });
    expect(slow.closes).toEqual([{ code: 4508, reason: 'Slow consumer: send buffer full' }]);
    expect(fine.sent).toHaveLength(1);
  });

  it('counts what it delivers by type, once per group with the number of connections that took it', () => {
    const sent = jest.spyOn(monitor, 'sent');
    const members = Array.from({ length: 3 }, () => recordingConnection());
    members.forEach(({ connection }, i) => {
      registry.connect(connection, identity(String(i + 1)), i === 2);
      registry.join(connection, 'general');
    });
    bus.publish({ kind: 'room', room: 'general', message: stored() });
    bus.publish({ kind: 'direct', message: stored({ room: null, recipientId: '2' }) });
    expect(sent.mock.calls).toEqual([
      ['room_message', 3],
      ['direct_message', 1],
      ['direct_message', 1],
    ]);
  });

  it('stops delivering after shutdown', () => {
    const a = recordingConnection();
    registry.connect(a.connection, identity('1'), false);
    registry.join(a.connection, 'general');
    delivery.beforeApplicationShutdown();
    bus.publish({ kind: 'room', room: 'general', message: stored() });
    expect(a.sent).toEqual([]);
  });
});
