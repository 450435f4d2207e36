// DirectConversationStore on the library's TypeORM connection: a user's direct conversations by
// their newest message, served by the partial indexes on (sender_id, id) and (recipient_id, id) of
// direct messages.
import type { DataSource } from 'typeorm';
import type {
  DirectConversationsPage,
  DirectConversationsQuery,
} from '../../conversations/conversation.types';
import { MessageEntity } from './entities/message.entity';
import type { DirectConversationStore } from '../realtime-storage.interface';

interface ConversationRow {
  with_user: string;
  last_id: number | string;
}

export class TypeOrmDirectConversationStore implements DirectConversationStore {
  constructor(private readonly dataSource: DataSource) {}

  async list(userId: string, query: DirectConversationsQuery): Promise<DirectConversationsPage> {
    const otherUser = 'CASE WHEN m.senderId = :userId THEN m.recipientId ELSE m.senderId END';
    const select = this.dataSource
      .getRepository(MessageEntity)
      .createQueryBuilder('m')
      .select(otherUser, 'with_user')
      .addSelect('MAX(m.id)', 'last_id')
      .where('m.dmKey IS NOT NULL')
      .andWhere('(m.senderId = :userId OR m.recipientId = :userId)', { userId })
      .groupBy(otherUser)
      .orderBy('last_id', 'DESC')
      .limit(query.limit + 1);
    if (query.afterId !== undefined) select.andWhere('m.id > :afterId', { afterId: query.afterId });
    if (query.beforeId !== undefined) select.having('MAX(m.id) < :beforeId', { beforeId: query.beforeId });
    const rows = await select.getRawMany<ConversationRow>();
    return {
      conversations: rows
        .slice(0, query.limit)
        .map((row) => ({ withUserId: String(row.with_user), lastId: Number(row.last_id) })),
      hasMore: rows.length > query.limit,
    };
  }
}
