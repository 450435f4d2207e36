// dm_history { with_user, limit?, offset?, after_id? }; with_user is a number or a string.
import type { DmHistoryData, WireUserId } from '../../protocol';
import { HistoryRequestDto } from './history-request.dto';
import { IsWireUserId } from './wire-user-id.validator';

export class DmHistoryDto extends HistoryRequestDto implements DmHistoryData {
  @IsWireUserId()
  with_user: WireUserId;
}
