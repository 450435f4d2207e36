// Body of POST /apps/:appId/logs: one entry or an array of entries. Field errors answer 400 with
// every offending field; more than `stream.maxEntriesPerRequest` entries answer 413; a body past the
// input limits (core/input-limits.ts) answers 400 INVALID_FORMAT before class-transformer reads it.
// An entry of known fields with primitive values is accepted by the DTO's rules compiled once
// (core/compiled-dto-check.ts); any other goes through class-transformer and class-validator, which
// also word the errors. class-validator's per-entry machinery was 5 % of the server's CPU under load.
import {
  BadRequestException,
  Inject,
  Injectable,
  PayloadTooLargeException,
  type PipeTransform,
} from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { RealtimeErrorCode } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { compileDtoCheck, type DtoCheck } from '../core/compiled-dto-check';
import { assertBodyShape } from '../core/input-limits.pipe';
import { flattenValidationErrors, type FieldProblem } from '../core/realtime-validation.pipe';
import { LogEntryDto } from './dto/log-entry.dto';

/** The DTO's fields: any other key is refused (forbidNonWhitelisted), so it takes the full path. */
const LOG_ENTRY_FIELDS: ReadonlySet<string> = new Set(['level', 'message', 'metadata', 'timestamp']);

@Injectable()
export class LogEntriesPipe implements PipeTransform<unknown, LogEntryDto[]> {
  /** Null when the DTO uses a rule the compiled check does not reproduce: every entry takes the full path. */
  private readonly accept: DtoCheck<LogEntryDto> | null = compileDtoCheck(LogEntryDto);

  constructor(@Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions) {}

  transform(body: unknown): LogEntryDto[] {
    const isArray = Array.isArray(body);
    const items: unknown[] = isArray ? (body as unknown[]) : [body];
    const max = this.options.stream.maxEntriesPerRequest;
    if (items.length > max) {
      throw new PayloadTooLargeException({
        statusCode: 413,
        message: `At most ${max} log entries per request (got ${items.length})`,
        max,
        received: items.length,
      });
    }
    assertBodyShape(body);
    if (items.length === 0) throw invalid('Expected at least one log entry', []);
    const fields: FieldProblem[] = [];
    const entries = items.map((item, index) => {
      const prefix = isArray ? `[${index}]` : '';
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        fields.push({ field: prefix || '(body)', problems: ['a log entry must be a JSON object'] });
        return new LogEntryDto();
      }
      const accepted = this.acceptKnown(item);
      if (accepted !== undefined) return accepted;
      const dto = plainToInstance(LogEntryDto, item);
      const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
      for (const problem of flattenValidationErrors(errors)) {
        fields.push({
          field: prefix ? `${prefix}.${problem.field}` : problem.field,
          problems: problem.problems,
        });
      }
      return dto;
    });
    const first = fields[0];
    if (first) throw invalid(`Invalid field "${first.field}": ${first.problems[0] ?? 'invalid'}`, fields);
    return entries;
  }

  /** The entry as class-transformer would build it, when its keys are all fields and every rule passes. */
  private acceptKnown(item: object): LogEntryDto | undefined {
    if (this.accept === null) return undefined;
    for (const key in item) if (!LOG_ENTRY_FIELDS.has(key)) return undefined;
    return this.accept(item);
  }
}

function invalid(message: string, fields: FieldProblem[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    code: RealtimeErrorCode.INVALID_FORMAT,
    message,
    fields,
  });
}
