// room_message { room, content, message_type?, media_url?, media_type?, duration?, reply_to? }.
import { IsString, Length } from 'class-validator';
import type { RoomMessageData } from '../../protocol';
import { MessageBodyDto } from './message-body.dto';

export class RoomMessageDto extends MessageBodyDto implements RoomMessageData {
  @IsString()
  @Length(1, 64)
  room: string;
}
