// A direct-message conversation between two users, keyed by the ordered pair; counts its messages.
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'rt_dm_threads' })
export class DmThreadEntity {
  /** `<lower user id>|<higher user id>` (string order). */
  @PrimaryColumn({ name: 'dm_key', type: 'varchar', length: 140 })
  dmKey: string;

  @Column({ name: 'message_count', type: 'integer', default: 0 })
  messageCount: number;
}
