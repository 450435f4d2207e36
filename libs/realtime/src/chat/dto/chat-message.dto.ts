// Body of the client's `message` event (chat).
import { IsObject, IsOptional, IsString } from 'class-validator';

export class ChatMessageDto {
  /** Length and emptiness are checked by the message rules (MESSAGE_TOO_LONG, INVALID_FORMAT). */
  @IsString()
  message: string;

  /** Free-form; `roomId` and `replyTo` are read and checked by ChatService. */
  @IsOptional()
  @IsObject()
  context?: Record<string, unknown>;
}
