// A direct-message conversation between two users, keyed by the ordered pair; counts its messages and
// numbers them in commit order.
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'rt_dm_threads' })
export class DmThreadEntity {
  /** `<lower user id>|<higher user id>` (string order). */
  @PrimaryColumn({ name: 'dm_key', type: 'varchar', length: 140 })
  dmKey: string;

  @Column({ name: 'message_count', type: 'integer', default: 0 })
  messageCount: number;

  /** The `seq` of the conversation's newest message; never goes down. */
  @Column({ name: 'last_seq', type: 'integer', default: 0 })
  lastSeq: number;
}
