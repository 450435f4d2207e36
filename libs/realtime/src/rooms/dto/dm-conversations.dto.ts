// dm_conversations { after_id?, before_id? } (an addition to the rooms protocol).
import { IsInt, IsOptional, Min } from 'class-validator';
import type { DmConversationsData } from '../../protocol';

export class DmConversationsDto implements DmConversationsData {
  @IsOptional()
  @IsInt()
  @Min(0)
  after_id?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  before_id?: number;
}
