// A user's membership of a room (required to join a private room; recorded on join for public ones).
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'rt_memberships' })
export class MembershipEntity {
  @PrimaryColumn({ name: 'room_id', type: 'integer' })
  roomId: number;

  @PrimaryColumn({ name: 'user_id', type: 'varchar', length: 64 })
  userId: string;

  @Column({
    name: 'joined_at',
    type: 'bigint',
    transformer: { to: (v: number) => v, from: (v: string | number) => Number(v) },
  })
  joinedAt: number;
}
