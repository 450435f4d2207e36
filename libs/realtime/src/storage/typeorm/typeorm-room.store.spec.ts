// TypeOrmRoomStore on the embedded SQLite: memberships and last-seen stamps are written in turn with
// the library's other write transactions. On the one shared connection, a statement run while
// another writer's transaction is open joins that transaction: committed or rolled back with it.
import type { DataSource } from 'typeorm';
import { MembershipEntity } from './entities/membership.entity';
import { RoomEntity } from './entities/room.entity';
import { UserEntity } from './entities/user.entity';
import { memoryDataSource } from './memory-data-source.helper-spec';
import { TypeOrmRoomStore } from './typeorm-room.store';
import { TypeOrmUserDirectory } from './typeorm-user-directory.service';
import { WriteQueue } from './write-transaction';

describe('TypeOrmRoomStore (SQLite)', () => {
  let dataSource: DataSource;
  let writes: WriteQueue;
  let rooms: TypeOrmRoomStore;
  let roomId: number;

  beforeEach(async () => {
    dataSource = await memoryDataSource();
    writes = new WriteQueue(dataSource);
    rooms = new TypeOrmRoomStore(dataSource, writes);
    roomId = (await rooms.create({ name: 'general', isPrivate: false, createdBy: null })).id;
  });

  afterEach(async () => {
    await dataSource.destroy();
  });

  const memberships = () => dataSource.getRepository(MembershipEntity).find({ order: { userId: 'ASC' } });

  /**
   * Another writer's transaction that spans the event loop and then fails: it holds the connection's
   * transaction open until `release` is called, then rolls back.
   */
  function failingTransaction(): { release: () => void; done: Promise<unknown> } {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const done = writes
      .transaction(async (manager) => {
        await manager.insert(RoomEntity, {
          name: 'doomed',
          isPrivate: false,
          createdBy: null,
          messageCount: 0,
          lastSeq: 0,
        });
        await released;
        throw new Error('refused');
      })
      .catch((error: unknown) => error);
    return { release, done };
  }

  /** Lets the open transaction's first statement run. */
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('records a member, and a second join refreshes the time', async () => {
    await rooms.addMember(roomId, 'u1', 1000);
    await rooms.addMember(roomId, 'u1', 2000);
    await rooms.addMember(roomId, 'u2', 3000);
    expect(await memberships()).toEqual([
      { roomId, userId: 'u1', joinedAt: 2000 },
      { roomId, userId: 'u2', joinedAt: 3000 },
    ]);
    await expect(rooms.isMember(roomId, 'u1')).resolves.toBe(true);
    await rooms.removeMember(roomId, 'u1');
    await expect(rooms.isMember(roomId, 'u1')).resolves.toBe(false);
    expect(await memberships()).toEqual([{ roomId, userId: 'u2', joinedAt: 3000 }]);
  });

  it("keeps a membership written while another writer's transaction is open and then rolls back", async () => {
    const other = failingTransaction();
    await turn();
    const joined = rooms.addMember(roomId, 'u1', 1000);
    await turn();
    other.release();
    expect(await other.done).toEqual(new Error('refused'));
    await joined;
    expect(await memberships()).toEqual([{ roomId, userId: 'u1', joinedAt: 1000 }]);
    // The failed transaction's own row is gone, as it should be.
    await expect(dataSource.getRepository(RoomEntity).countBy({ name: 'doomed' })).resolves.toBe(0);
  });

  it("keeps a removal made while another writer's transaction is open and then rolls back", async () => {
    await rooms.addMember(roomId, 'u1', 1000);
    const other = failingTransaction();
    await turn();
    const left = rooms.removeMember(roomId, 'u1');
    await turn();
    other.release();
    await other.done;
    await left;
    expect(await memberships()).toEqual([]);
  });

  it("keeps a last-seen stamp written while another writer's transaction is open and then rolls back", async () => {
    const users = new TypeOrmUserDirectory(dataSource, writes);
    await users.register({ id: 'u1', username: 'ada' });
    const other = failingTransaction();
    await turn();
    const seen = users.markSeen('u1', 5000);
    await turn();
    other.release();
    await other.done;
    await seen;
    const row = await dataSource.getRepository(UserEntity).findOneByOrFail({ userId: 'u1' });
    expect(Number(row.lastSeenAt)).toBe(5000);
  });
});
