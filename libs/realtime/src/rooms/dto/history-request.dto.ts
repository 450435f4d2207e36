// Paging fields of room_history / dm_history. The upper bound of limit is an option
// (limits.maxHistoryLimit), checked by MessagesService.checkHistoryQuery.
import { IsInt, IsOptional, Min } from 'class-validator';
import type { HistoryRequestFields } from '../../protocol';

export abstract class HistoryRequestDto implements HistoryRequestFields {
  @IsOptional()
  @IsInt()
  @Min(1)
  limit?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  offset?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  after_id?: number;
}
