// Body of the `join` / `leave` events (an addition to the chat specification).
import { IsString, Matches } from 'class-validator';

export class ChatJoinDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'roomId must be 1-64 letters, digits, _ . or -' })
  roomId: string;
}
