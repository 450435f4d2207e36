// One entry of POST /apps/:appId/logs. The user id is the token's, never the body's.
import { Allow, IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import type { LogEntryInput } from '../../protocol';

export const LOG_MESSAGE_MAX_LENGTH = 10_000;

export class LogEntryDto implements LogEntryInput {
  @IsString()
  @Length(1, 32)
  @Matches(/^[A-Za-z][A-Za-z0-9_-]*$/, { message: 'level must be a word such as info, warn or error' })
  level: string;

  @IsString()
  @MaxLength(LOG_MESSAGE_MAX_LENGTH)
  message: string;

  /** Any JSON value. */
  @Allow()
  metadata?: unknown;

  /** Epoch milliseconds; the time of ingestion when absent. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(8_640_000_000_000_000)
  timestamp?: number;
}
