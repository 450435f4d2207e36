// join_room { room }.
import { IsString, Length } from 'class-validator';
import type { JoinRoomData } from '../../protocol';

export class JoinRoomDto implements JoinRoomData {
  @IsString()
  @Length(1, 64)
  room: string;
}
