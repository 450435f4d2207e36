// Every migration of the library, in order. Run automatically at start on SQLite and PostgreSQL.
import { CreateUsers1732300000000 } from './1732300000000-create-users';
import { CreateConversations1732300000001 } from './1732300000001-create-conversations';
import { CreateLogEntries1732300000002 } from './1732300000002-create-log-entries';
import { IndexDirectConversations1732300000003 } from './1732300000003-index-direct-conversations';
import { PartialHistoryIndexes1732300000004 } from './1732300000004-partial-history-indexes';
import { ConversationSequence1732300000005 } from './1732300000005-conversation-sequence';

export const REALTIME_MIGRATIONS = [
  CreateUsers1732300000000,
  CreateConversations1732300000001,
  CreateLogEntries1732300000002,
  IndexDirectConversations1732300000003,
  PartialHistoryIndexes1732300000004,
  ConversationSequence1732300000005,
];
