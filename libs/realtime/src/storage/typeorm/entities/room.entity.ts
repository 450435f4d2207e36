// A chat room: public (anyone may join) or private (members only).
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'rt_rooms' })
export class RoomEntity {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  @Column({ type: 'varchar', length: 64, unique: true })
  name: string;

  @Column({ name: 'is_private', type: 'boolean', default: false })
  isPrivate: boolean;

  /** Messages stored in the room (kept in the insert's transaction: history's `total` without COUNT). */
  @Column({ name: 'message_count', type: 'integer', default: 0 })
  messageCount: number;

  /** The `seq` of the room's newest message (0 before the first); never goes down. */
  @Column({ name: 'last_seq', type: 'integer', default: 0 })
  lastSeq: number;

  @Column({ name: 'created_by', type: 'varchar', length: 64, nullable: true })
  createdBy: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;
}
