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
import { resolveRealtimeOptions } from '../realtime.options';
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
    monitor = new RoomsMonitor(
      new TransportCounters(),
      resolveRealtimeOptions({ auth: { secret: 'rooms-delivery-spec-secret-0123456789' } }),
    );
    delivery = new RoomsDelivery(bus, registry, monitor);
    delivery.onApplicationBootstrap();
  });
  afterEach(() => {
    delivery.beforeApplicationShutdown();
    void bus.onModuleDestroy();
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

  describe('a message posted with a request id', () => {
    /** One turn of the event loop: the outbound batcher flushes on setImmediate. */
    const batchesFlushed = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

    function member(userId: string, batched = false, room: string | null = 'general') {
      const recording = recordingConnection(batched ? '/ws/chat?token=t&batch=1' : '/ws/chat?token=t');
      registry.connect(recording.connection, identity(userId), batched);
      if (room !== null) registry.join(recording.connection, room);
      return recording;
    }

    it("writes the sender connection's copy with the ref, and the one shared frame to every other member", () => {
      const sender = member('1');
      const sameUser = member('1');
      const other = member('2');
      const sent = jest.spyOn(monitor, 'sent');
      const stringify = jest.spyOn(JSON, 'stringify');
      try {
        bus.publish({
          kind: 'room',
          room: 'general',
          message: stored(),
          origin: { connection: sender.connection, ref: 'tab-1:3' },
        });
        // Serialised once for everyone: the sender's copy is spliced, not serialised again.
        expect(stringify).toHaveBeenCalledTimes(1);
      } finally {
        stringify.mockRestore();
      }
      const shared = other.sent[0] ?? '';
      expect(sameUser.sent).toEqual([shared]);
      expect(sender.sent).toEqual([`${shared.slice(0, -1)},"ref":"tab-1:3"}`]);
      expect(JSON.parse(sender.sent[0] ?? '')).toEqual({
        ...(JSON.parse(shared) as Envelope),
        ref: 'tab-1:3',
      });
      expect(shared).not.toContain('"ref"');
      // One frame per connection, as without a ref.
      expect(sent.mock.calls).toEqual([['room_message', 3]]);
    });

    it("puts the ref on a batched sender's copy only", async () => {
      const sender = member('1', true);
      const batchedOther = member('2', true);
      const direct = member('3');
      bus.publish({
        kind: 'room',
        room: 'general',
        message: stored(),
        origin: { connection: sender.connection, ref: 'r1' },
      });
      await batchesFlushed();
      const shared = direct.sent[0] ?? '';
      expect(batchedOther.sent).toEqual([shared]);
      expect(sender.sent).toEqual([`${shared.slice(0, -1)},"ref":"r1"}`]);
    });

    it("gives a direct message's sender connection the ref, and the recipient and the sender's other tabs none", () => {
      const sender = member('1', false, null);
      const senderOtherTab = member('1', false, null);
      const recipient = member('2', false, null);
      bus.publish({
        kind: 'direct',
        message: stored({ room: null, recipientId: '2' }),
        origin: { connection: sender.connection, ref: 'dm-1' },
      });
      const shared = recipient.sent[0] ?? '';
      expect(shared).not.toContain('"ref"');
      expect(senderOtherTab.sent).toEqual([shared]);
      expect(sender.sent).toEqual([`${shared.slice(0, -1)},"ref":"dm-1"}`]);

      // A note to self: the sender is in the recipient's group, and gets one copy, with the ref.
      bus.publish({
        kind: 'direct',
        message: stored({ room: null, recipientId: '1' }),
        origin: { connection: sender.connection, ref: 'dm-2' },
      });
      expect(sender.sent).toHaveLength(2);
      expect(JSON.parse(sender.sent[1] ?? '')).toMatchObject({ type: 'direct_message', ref: 'dm-2' });
      expect(senderOtherTab.sent[1]).not.toContain('"ref"');
    });

    it('writes the shared frame to everyone when the origin is no connection of the group', () => {
      const a = member('1');
      const b = member('2');
      const elsewhere = member('3', false, 'other-room');
      // A connection of another room, and a Socket.IO-like origin that is no raw ws connection.
      for (const connection of [elsewhere.connection, { id: 'socket-io' }]) {
        bus.publish({ kind: 'room', room: 'general', message: stored(), origin: { connection, ref: 'x' } });
      }
      expect(a.sent).toHaveLength(2);
      expect([...a.sent, ...b.sent].some((frame) => frame.includes('"ref"'))).toBe(false);
      expect(b.sent).toEqual(a.sent);
      expect(elsewhere.sent).toEqual([]);
    });
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
