// dm_conversations { after_id?, before_id? } (an addition to the rooms protocol); the ids as numbers or
// decimal strings.
import { IsOptional } from 'class-validator';
import type { DmConversationsData } from '../../protocol';
import { IsWireMessageId } from './wire-message-id.validator';

export class DmConversationsDto implements DmConversationsData {
  /** A number or a decimal string ("42"); the number once validated. */
  @IsOptional()
  @IsWireMessageId(0)
  after_id?: number;

  /** A number or a decimal string ("42"); the number once validated. */
  @IsOptional()
  @IsWireMessageId(1)
  before_id?: number;
}
