// DirectConversationsService on a real SQLite database with the library's migrations: paging by
// newest message (limit, has_more, before_id) and the after_id filter.
import type { DataSource } from 'typeorm';
import { DirectConversationsService } from './direct-conversations.service';
import { dmKey } from './messages.service';
import { memoryDataSource } from '../storage/typeorm/memory-data-source.helper-spec';
import { TypeOrmDirectConversationStore } from '../storage/typeorm/typeorm-direct-conversation.store';
import { TypeOrmMessageStore } from '../storage/typeorm/typeorm-message.store';
import { WriteQueue } from '../storage/typeorm/write-transaction';

describe('DirectConversationsService', () => {
  let dataSource: DataSource;
  let service: DirectConversationsService;

  /** Stores a direct message (as the library does: numbered in its conversation) and returns its id. */
  function dm(from: string, to: string): Promise<number> {
    return new TypeOrmMessageStore(dataSource, new WriteQueue(dataSource)).insert({
      roomId: null,
      dmKey: dmKey(from, to),
      senderId: from,
      senderUsername: `u${from}`,
      recipientId: to,
      content: `${from} to ${to}`,
      messageType: 'text',
      mediaUrl: null,
      mediaType: null,
      duration: null,
      replyTo: null,
      context: null,
      createdAt: Date.now(),
    });
  }

  beforeAll(async () => {
    dataSource = await memoryDataSource();
    service = new DirectConversationsService(new TypeOrmDirectConversationStore(dataSource));
  });

  afterAll(async () => {
    await dataSource.destroy();
  });

  it('pages the conversations of a user newest first, with has_more and before_id, each peer once', async () => {
    // Peers 1..5 write to user 100 in turn; peer 2 writes again last, user 100 answers peer 4.
    const ids: Record<string, number> = {};
    for (const peer of ['1', '2', '3', '4', '5']) ids[peer] = await dm(peer, '100');
    ids['4'] = await dm('100', '4');
    ids['2'] = await dm('2', '100');
    await dm('7', '8'); // not a conversation of user 100

    const first = await service.list('100', { limit: 2 });
    expect(first).toEqual({
      conversations: [
        { withUserId: '2', lastId: ids['2'] },
        { withUserId: '4', lastId: ids['4'] },
      ],
      hasMore: true,
    });
    const second = await service.list('100', { limit: 2, beforeId: ids['4'] });
    expect(second).toEqual({
      conversations: [
        { withUserId: '5', lastId: ids['5'] },
        { withUserId: '3', lastId: ids['3'] },
      ],
      hasMore: true,
    });
    const last = await service.list('100', { limit: 2, beforeId: ids['3'] });
    expect(last).toEqual({ conversations: [{ withUserId: '1', lastId: ids['1'] }], hasMore: false });
  });

  it('lists only conversations with a message after after_id', async () => {
    const before = await dm('20', '200');
    const later = await dm('21', '200');
    expect(await service.list('200', { limit: 10, afterId: before })).toEqual({
      conversations: [{ withUserId: '21', lastId: later }],
      hasMore: false,
    });
    expect(await service.list('200', { limit: 10, afterId: later })).toEqual({
      conversations: [],
      hasMore: false,
    });
    expect(await service.list('nobody', { limit: 10 })).toEqual({ conversations: [], hasMore: false });
  });
});
