// A user known to the real-time features (logged in through the host, or registered by it).
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'rt_users' })
export class UserEntity {
  /** Row id; also the public user id when the host registers a user without one. */
  @PrimaryGeneratedColumn({ type: 'integer' })
  seq: number;

  /** The identity's user id (the token's user id claim). */
  @Column({ name: 'user_id', type: 'varchar', length: 64, unique: true })
  userId: string;

  @Column({ type: 'varchar', length: 64, unique: true })
  username: string;

  @Column({ type: 'varchar', length: 255, nullable: true })
  email: string | null;

  @Column({ type: 'simple-json' })
  roles: string[];

  @CreateDateColumn({ name: 'created_at' })
  createdAt: Date;

  @Column({
    name: 'last_seen_at',
    type: 'bigint',
    nullable: true,
    transformer: {
      to: (v: number | null) => v,
      from: (v: string | number | null) => (v === null ? null : Number(v)),
    },
  })
  lastSeenAt: number | null;
}
