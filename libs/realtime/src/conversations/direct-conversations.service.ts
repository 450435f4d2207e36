// Lists a user's direct conversations by their newest message, so that a client coming back from a
// disconnection learns of peers that wrote to it meanwhile and can fetch their history. Storage is the
// DirectConversationStore's.
import { Injectable } from '@nestjs/common';
import {
  InjectDirectConversationStore,
  type DirectConversationStore,
} from '../storage/realtime-storage.interface';
import type { DirectConversationsPage, DirectConversationsQuery } from './conversation.types';

@Injectable()
export class DirectConversationsService {
  constructor(@InjectDirectConversationStore() private readonly store: DirectConversationStore) {}

  /** The conversations of `userId` (as sender or recipient) matching the query, newest first. */
  list(userId: string, query: DirectConversationsQuery): Promise<DirectConversationsPage> {
    return this.store.list(userId, query);
  }
}
