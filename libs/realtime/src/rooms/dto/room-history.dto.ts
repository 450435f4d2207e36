// room_history { room, limit?, offset?, after_id? }.
import { IsString, Length } from 'class-validator';
import type { RoomHistoryData } from '../../protocol';
import { HistoryRequestDto } from './history-request.dto';

export class RoomHistoryDto extends HistoryRequestDto implements RoomHistoryData {
  @IsString()
  @Length(1, 64)
  room: string;
}
