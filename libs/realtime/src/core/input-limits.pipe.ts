// HTTP request bodies under the input limits (input-limits.ts) before validation: 400 INVALID_FORMAT,
// as the library's own log ingestion answers. A host puts the pipe before its ValidationPipe, whose
// class-transformer overflows the stack on a body nested a few thousand levels deep and throws on a
// nested `constructor` key (500, logged with its stack):
//   app.useGlobalPipes(new InputLimitsPipe(), new ValidationPipe({ … }));
import { BadRequestException, Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { inputShapeError } from './input-limits';

/** Throws 400 `{ statusCode, code: 'INVALID_FORMAT', message, details }` for a body past the limits. */
export function assertBodyShape(body: unknown): void {
  const error = inputShapeError(body);
  if (error === null) return;
  throw new BadRequestException({
    statusCode: 400,
    code: error.code,
    message: error.message,
    details: error.details,
  });
}

/** Checks `@Body()` arguments only: query strings and route params are flat. */
@Injectable()
export class InputLimitsPipe implements PipeTransform<unknown, unknown> {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body') assertBodyShape(value);
    return value;
  }
}
