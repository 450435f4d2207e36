// A monitored module of the sample host (the "modules" page of the events API).
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'sample_modules' })
export class ModuleEntity {
  @PrimaryColumn({ name: 'module_id', type: 'varchar', length: 64 })
  moduleId: string;

  @Column({ type: 'varchar', length: 120 })
  name: string;

  @Column({ type: 'varchar', length: 64 })
  type: string;

  /** Owner (user id). */
  @Column({ name: 'user_id', type: 'varchar', length: 64 })
  userId: string;

  @Column({ type: 'varchar', length: 16, default: 'offline' })
  status: 'online' | 'offline';

  @Column({ type: 'simple-json', nullable: true })
  telemetry: Record<string, unknown> | null;

  @Column({ name: 'last_seen', type: 'varchar', length: 40, nullable: true })
  lastSeen: string | null;

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at' })
  updatedAt: Date;
}
