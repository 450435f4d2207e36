// Fields every posted message shares (room and direct): types checked here, the rules (non-empty
// text, media for image/audio, reply target, length) by MessagesService.
import { IsIn, IsNumber, IsOptional, IsString } from 'class-validator';
import { MESSAGE_KINDS } from '../../conversations/conversation.types';
import type { MessageBodyFields, RoomsMessageType } from '../../protocol';
import { IsWireMessageId } from './wire-message-id.validator';

export abstract class MessageBodyDto implements MessageBodyFields {
  @IsString()
  content: string;

  @IsOptional()
  @IsIn(MESSAGE_KINDS)
  message_type?: RoomsMessageType;

  @IsOptional()
  @IsString()
  media_url?: string;

  @IsOptional()
  @IsString()
  media_type?: string;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  duration?: number;

  /** A number or a decimal string ("42"); the number once validated. */
  @IsOptional()
  @IsWireMessageId(1)
  reply_to?: number;
}
