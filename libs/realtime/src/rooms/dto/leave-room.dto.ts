// leave_room { room } (an addition to the rooms protocol).
import { IsString, Length } from 'class-validator';
import type { LeaveRoomData } from '../../protocol';

export class LeaveRoomDto implements LeaveRoomData {
  @IsString()
  @Length(1, 64)
  room: string;
}
