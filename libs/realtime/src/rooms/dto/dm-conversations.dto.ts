// dm_conversations { after_id?, before_id? } (addition to seed 003).
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
