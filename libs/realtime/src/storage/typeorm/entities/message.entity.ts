// One stored message, of a room or of a direct-message pair; indexed for history by either in commit
// order (each index holding only its kind, one message per place), and direct messages by sender and
// recipient for the list of a user's conversations.
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { DIRECT_MESSAGES_ONLY } from '../migrations/1732300000003-index-direct-conversations';
import { ROOM_MESSAGES_ONLY } from '../migrations/1732300000004-partial-history-indexes';

const epochMs = { to: (v: number) => v, from: (v: string | number) => Number(v) };

@Entity({ name: 'rt_messages' })
@Index('rt_messages_room_history', ['roomId', 'seq'], { unique: true, where: ROOM_MESSAGES_ONLY })
@Index('rt_messages_dm_history', ['dmKey', 'seq'], { unique: true, where: DIRECT_MESSAGES_ONLY })
@Index('rt_messages_dm_sender', ['senderId', 'id'], { where: DIRECT_MESSAGES_ONLY })
@Index('rt_messages_dm_recipient', ['recipientId', 'id'], { where: DIRECT_MESSAGES_ONLY })
export class MessageEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ name: 'room_id', type: 'integer', nullable: true })
  roomId: number | null;

  @Column({ name: 'dm_key', type: 'varchar', length: 140, nullable: true })
  dmKey: string | null;

  /**
   * The message's place in its conversation: 1, 2, 3… in commit order, drawn from the conversation's
   * `last_seq` in the insert's transaction. History and catch-up are ordered by it, not by the id
   * (ids are drawn before commit, so with concurrent writers they can commit out of order).
   */
  @Column({ type: 'integer' })
  seq: number;

  @Column({ name: 'sender_id', type: 'varchar', length: 64 })
  senderId: string;

  /** The sender's username when sent (history shows who wrote it without a join). */
  @Column({ name: 'sender_username', type: 'varchar', length: 64 })
  senderUsername: string;

  @Column({ name: 'recipient_id', type: 'varchar', length: 64, nullable: true })
  recipientId: string | null;

  @Column({ type: 'text' })
  content: string;

  @Column({ name: 'message_type', type: 'varchar', length: 16 })
  messageType: string;

  @Column({ name: 'media_url', type: 'varchar', length: 2048, nullable: true })
  mediaUrl: string | null;

  @Column({ name: 'media_type', type: 'varchar', length: 128, nullable: true })
  mediaType: string | null;

  @Column({ type: 'double precision', nullable: true })
  duration: number | null;

  @Column({ name: 'reply_to', type: 'integer', nullable: true })
  replyTo: number | null;

  /** The chat message's `context` as sent (roomId, replyTo, and the client's own fields). */
  @Column({ type: 'simple-json', nullable: true })
  context: Record<string, unknown> | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt: number;
}
