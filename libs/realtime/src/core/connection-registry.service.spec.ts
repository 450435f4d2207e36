// ConnectionRegistry: per-user counts, and one identity object shared by a user's connections with
// equal claims (an idle connection's identity is a few hundred bytes; a user may hold many).
import type { RealtimeIdentity } from './auth/realtime-identity';
import { ConnectionRegistry } from './connection-registry.service';

function identity(userId: string, overrides: Partial<RealtimeIdentity> = {}): RealtimeIdentity {
  return {
    userId,
    username: `user-${userId}`,
    roles: ['member'],
    isAdmin: false,
    appId: null,
    page: null,
    expiresAt: 1_900_000_000_000,
    ...overrides,
  };
}

describe('ConnectionRegistry', () => {
  let registry: ConnectionRegistry;

  beforeEach(() => {
    registry = new ConnectionRegistry();
  });

  afterEach(() => registry.onModuleDestroy());

  it("shares the user's registered identity with a connection of equal claims", () => {
    const first = identity('1');
    expect(registry.add('c1', 'ws', first)).toBe(first);
    expect(registry.add('c2', 'ws', identity('1'))).toBe(first);
    expect(registry.get('c2')?.identity).toBe(first);
    expect(registry.connectionsOf('1')).toBe(2);
  });

  it('keeps a connection its own identity when any claim differs', () => {
    const first = identity('1');
    registry.add('c1', 'ws', first);
    for (const [id, other] of [
      ['c2', identity('1', { expiresAt: 1_900_000_000_001 })],
      ['c3', identity('1', { roles: ['member', 'admin'] })],
      ['c4', identity('1', { page: 'home' })],
      ['c5', identity('1', { username: 'renamed' })],
    ] as const) {
      const kept = registry.add(id, 'ws', other);
      expect(kept).toEqual(other);
      expect(kept).not.toBe(first);
    }
    expect(registry.connectionsOf('1')).toBe(5);
    // The latest connection's username is the user's.
    expect(registry.onlineUsers()).toEqual([{ userId: '1', username: 'renamed' }]);
  });

  it("shares among a user's connections whose identities alternate (tokens of two expiries)", () => {
    const early = identity('1');
    const late = identity('1', { expiresAt: 1_900_000_001_000 });
    registry.add('c1', 'ws', early);
    const keptLate = registry.add('c2', 'ws', late);
    expect(registry.add('c3', 'ws', identity('1'))).toBe(early);
    expect(registry.add('c4', 'ws', identity('1', { expiresAt: 1_900_000_001_000 }))).toBe(keptLate);
    expect(registry.connectionsOf('1')).toBe(4);
  });

  it("takes the strings and roles of a user's latest identity into a differing one", () => {
    const first = identity('1');
    registry.add('c1', 'ws', first);
    const other = identity('1', { page: 'home', roles: ['member'] });
    const kept = registry.add('c2', 'ws', other);
    expect(kept).toEqual(other);
    expect(kept.roles).toBe(first.roles);
    const promoted = registry.add('c3', 'ws', identity('1', { roles: ['member', 'admin'] }));
    expect(promoted.roles).toEqual(['member', 'admin']);
    expect(promoted.roles).not.toBe(first.roles);
  });

  it('answers a second registration of one id with its identity, counting it once', () => {
    const first = identity('2');
    registry.add('c1', 'socket.io', first);
    expect(registry.add('c1', 'socket.io', identity('2', { page: 'other' }))).toBe(first);
    expect(registry.countByTransport()).toEqual({ socketIo: 1, ws: 0 });
    registry.remove('c1');
    expect(registry.isOnline('2')).toBe(false);
  });
});
