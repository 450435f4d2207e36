// ValidationPipe for gateway payloads: class-validator errors become RealtimeError(INVALID_FORMAT) with
// the offending fields, instead of an HttpException that reaches a socket as "Internal server error".
import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { RealtimeError } from './errors/realtime-error';

export interface FieldProblem {
  field: string;
  problems: string[];
}

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) out.push({ field, problems: Object.values(error.constraints) });
    if (error.children?.length) out.push(...flattenValidationErrors(error.children, field));
  }
  return out;
}

export function createRealtimeValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidUnknownValues: true,
    exceptionFactory: (errors) => {
      const fields = flattenValidationErrors(errors);
      const first = fields[0];
      const message = first
        ? `Invalid field "${first.field}": ${first.problems[0] ?? 'invalid'}`
        : 'Invalid payload';
      return RealtimeError.invalidFormat(message, { field: first?.field, fields });
    },
  });
}
