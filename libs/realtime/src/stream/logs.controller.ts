// Log ingestion over HTTP (opt-in: `http.logIngestionPath`, e.g. POST /apps/:appId/logs): a producer
// holding a token of that app ingests one entry or an array. 401 without a valid token, 403 for a
// token of another app, 400 with field errors, 413 past the entry bound (and past the host's JSON body
// limit, answered by the body parser). The route is mounted at the host's path by `logsController`.
import {
  Body,
  Controller,
  Injectable,
  ForbiddenException,
  HttpCode,
  Param,
  Post,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { RealtimeErrorCode, type LogIngestResult } from '../protocol';
import { ConnectedUser } from '../core/auth/connected-user.decorator';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { RealtimeAuthGuard } from '../core/auth/realtime-auth.guard';
import type { LogEntryDto } from './dto/log-entry.dto';
import { LogEntriesPipe } from './log-entries.pipe';
import { LogStreamService } from './log-stream.service';

/** The route's handler (`@Injectable` so that its constructor's types are emitted for the subclass); `logsController(path)` mounts it. */
@Injectable()
export class LogsController {
  constructor(private readonly logs: LogStreamService) {}

  @Post()
  @HttpCode(202)
  ingest(
    @Param('appId') appId: string,
    @ConnectedUser() user: RealtimeIdentity,
    @Body(LogEntriesPipe) entries: LogEntryDto[],
  ): LogIngestResult {
    if (user.appId !== appId) {
      throw new ForbiddenException({
        statusCode: 403,
        code: RealtimeErrorCode.PERMISSION_DENIED,
        message:
          user.appId === null
            ? 'Token has no appId claim'
            : `Token is for app "${user.appId}", not "${appId}"`,
      });
    }
    const stored = this.logs.publish(
      appId,
      entries.map((entry) => ({ ...entry, userId: user.userId })),
    );
    return { accepted: stored.length, ids: stored.map((entry) => entry.id) };
  }
}

/** The log ingestion controller at the host's path (which holds `:appId`). */
export function logsController(path: string): Type<LogsController> {
  class LogIngestionController extends LogsController {}
  Controller(path)(LogIngestionController);
  UseGuards(RealtimeAuthGuard)(LogIngestionController);
  return LogIngestionController;
}
