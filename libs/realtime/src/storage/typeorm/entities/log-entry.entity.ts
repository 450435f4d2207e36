// One log entry of the log stream, kept when `stream.persist` is on (the newest
// `stream.bufferSize` of each app). Ids sort in ingestion order, so (app_id, id) serves the backlog.
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

const epochMs = { to: (v: number) => v, from: (v: string | number) => Number(v) };

@Entity({ name: 'rt_log_entries' })
@Index('rt_log_entries_app', ['appId', 'id'])
export class LogEntryEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id: string;

  @Column({ name: 'app_id', type: 'text' })
  appId: string;

  @Column({ type: 'bigint', transformer: epochMs })
  timestamp: number;

  @Column({ type: 'text' })
  level: string;

  @Column({ type: 'text' })
  message: string;

  /** The entry's metadata as JSON text; null when the entry has none. */
  @Column({ type: 'text', nullable: true })
  metadata: string | null;

  @Column({ name: 'user_id', type: 'text' })
  userId: string;
}
