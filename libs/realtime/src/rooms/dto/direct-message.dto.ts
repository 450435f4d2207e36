// direct_message { to_user_id, content, message_type?, ... }; to_user_id is a number or a string.
import type { DirectMessageData, WireUserId } from '../../protocol';
import { MessageBodyDto } from './message-body.dto';
import { IsWireUserId } from './wire-user-id.validator';

export class DirectMessageDto extends MessageBodyDto implements DirectMessageData {
  @IsWireUserId()
  to_user_id: WireUserId;
}
