// leave_room { room } (addition to seed 003).
import { IsString, Length } from 'class-validator';
import type { LeaveRoomData } from '../../protocol';

export class LeaveRoomDto implements LeaveRoomData {
  @IsString()
  @Length(1, 64)
  room: string;
}
