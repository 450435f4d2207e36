// Connection-level room state: a user is announced on their first connection in a room and leaves
// with their last; a dropped connection leaves every room it was in.
import { RoomMembersRegistry } from './room-members.registry';
import { identity, recordingConnection } from './recording-connection.helper-spec';

describe('RoomMembersRegistry', () => {
  let registry: RoomMembersRegistry;
  const alice = identity('1', 'alice');
  const bob = identity('2', 'bob');

  beforeEach(() => {
    registry = new RoomMembersRegistry();
  });

  it('tells the first connection of a user in a room from the next ones', () => {
    const a1 = recordingConnection().connection;
    const a2 = recordingConnection().connection;
    registry.connect(a1, alice, false);
    registry.connect(a2, alice, true);
    expect(registry.isUserInRoom('1', 'general')).toBe(false);
    expect(registry.join(a1, 'general')).toEqual({ joined: true, firstOfUser: true });
    expect(registry.join(a1, 'general')).toEqual({ joined: false, firstOfUser: false });
    expect(registry.join(a2, 'general')).toEqual({ joined: true, firstOfUser: false });
    const group = registry.roomGroup('general');
    expect(group?.size).toBe(2);
    expect([...(group?.direct ?? [])]).toEqual([a1]);
    expect([...(group?.batched ?? [])]).toEqual([a2]);
    expect(registry.userGroup('1')?.size).toBe(2);
  });

  it('keeps the rooms of each connection apart when several joined the same room alone', () => {
    const a1 = recordingConnection().connection;
    const a2 = recordingConnection().connection;
    const b1 = recordingConnection().connection;
    registry.connect(a1, alice, false);
    registry.connect(a2, alice, false);
    registry.connect(b1, bob, false);
    for (const connection of [a1, a2, b1]) registry.join(connection, 'general');
    registry.join(a1, 'random');
    registry.leave(a2, 'general');
    expect([...registry.roomsOf(a1)]).toEqual(['general', 'random']);
    expect([...registry.roomsOf(a2)]).toEqual([]);
    expect([...registry.roomsOf(b1)]).toEqual(['general']);
    expect(registry.isJoined(b1, 'random')).toBe(false);
    expect(registry.disconnect(b1).roomsLeft).toEqual(['general']);
    expect(registry.roomGroup('general')?.size).toBe(1);
  });

  it('reports the last connection of a user leaving a room', () => {
    const a1 = recordingConnection().connection;
    const a2 = recordingConnection().connection;
    registry.connect(a1, alice, false);
    registry.connect(a2, alice, false);
    registry.join(a1, 'general');
    registry.join(a2, 'general');
    expect(registry.leave(a1, 'general')).toEqual({ left: true, lastOfUser: false });
    expect(registry.leave(a1, 'general')).toEqual({ left: false, lastOfUser: false });
    expect(registry.leave(a2, 'general')).toEqual({ left: true, lastOfUser: true });
    expect(registry.roomGroup('general')).toBeUndefined();
  });

  it('on disconnect, leaves every room and lists those the user is no longer in', () => {
    const a1 = recordingConnection().connection;
    const a2 = recordingConnection().connection;
    const b = recordingConnection().connection;
    registry.connect(a1, alice, false);
    registry.connect(a2, alice, false);
    registry.connect(b, bob, false);
    registry.join(a1, 'general');
    registry.join(a1, 'random');
    registry.join(a2, 'random');
    registry.join(b, 'general');
    expect(registry.disconnect(a1)).toEqual({ identity: alice, roomsLeft: ['general'] });
    expect(registry.roomGroup('general')?.size).toBe(1);
    expect(registry.roomsOf(a1).size).toBe(0);
    expect(registry.has(a1)).toBe(false);
    expect(registry.disconnect(a1)).toEqual({ identity: null, roomsLeft: [] });
    expect(registry.userGroup('1')?.size).toBe(1);
  });

  it('does not let a connection that is gone join', () => {
    const a1 = recordingConnection().connection;
    expect(registry.join(a1, 'general')).toEqual({ joined: false, firstOfUser: false });
    expect(registry.roomGroup('general')).toBeUndefined();
  });

  it('keeps many rooms of one connection past the small list, and leaves each of them once', () => {
    const a1 = recordingConnection().connection;
    registry.connect(a1, alice, false);
    const rooms = Array.from({ length: 12 }, (_, i) => `room-${i}`);
    for (const room of rooms) expect(registry.join(a1, room)).toEqual({ joined: true, firstOfUser: true });
    expect(registry.join(a1, 'room-3')).toEqual({ joined: false, firstOfUser: false });
    expect([...registry.roomsOf(a1)]).toEqual(rooms);
    expect(registry.leave(a1, 'room-11')).toEqual({ left: true, lastOfUser: true });
    expect(registry.leave(a1, 'room-11')).toEqual({ left: false, lastOfUser: false });
    expect(registry.isJoined(a1, 'room-11')).toBe(false);
    expect(registry.isJoined(a1, 'room-0')).toBe(true);
    expect(registry.disconnect(a1).roomsLeft).toEqual(rooms.slice(0, 11));
    expect(registry.roomGroup('room-0')).toBeUndefined();
  });
});
