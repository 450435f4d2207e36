// Paging fields of room_history / dm_history. An absent limit is DEFAULT_HISTORY_LIMIT (50, the seed's
// page) and its upper bound an option (limits.maxHistoryLimit), both applied after validation by
// RoomsSessionService and MessagesService.checkHistoryQuery.
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import type { HistoryRequestFields } from '../../protocol';
import { IsWireMessageId } from './wire-message-id.validator';

export abstract class HistoryRequestDto implements HistoryRequestFields {
  @IsOptional()
  @IsInt()
  @Min(1)
  limit?: number;

  /** At most 2^53 - 1: a larger integer (1e29 is one) reaches SQL as a REAL and fails there. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  offset?: number;

  /** A number or a decimal string ("42"); the number once validated. */
  @IsOptional()
  @IsWireMessageId(0)
  after_id?: number;
}
