// A raw ws frame type handled without Nest's per-call handler pipeline (execution context, param
// factories, pipes, interceptor chain, exception zone): for the hottest frames, where that pipeline
// costs more than the work. What the gateway's pipe and filter do still happens: the payload is
// validated against the DTO (a compiled check; the ValidationPipe itself for anything it does not
// accept, so errors are the pipe's), and errors reach the client as RealtimeWsExceptionFilter sends them.
import type { Type, ValidationPipe } from '@nestjs/common';
import { compileDtoCheck, type DtoCheck } from '../compiled-dto-check';
import { createRealtimeValidationPipe } from '../realtime-validation.pipe';
import type { RawWsConnection } from './raw-ws-connection';

/** Handles one validated frame; a `{ event, data }` result is sent back, as from a gateway handler. */
export type DirectFrameHandler<T extends object> = (connection: RawWsConnection, dto: T) => unknown;

/** What the adapter needs of a route, whatever its DTO. */
export interface FrameRoute {
  run(connection: RawWsConnection, data: unknown): unknown;
}

export class DirectFrameRoute<T extends object> implements FrameRoute {
  private readonly check: DtoCheck<T> | null;
  private pipe: ValidationPipe | null = null;

  constructor(
    private readonly dto: Type<T>,
    private readonly handler: DirectFrameHandler<T>,
  ) {
    this.check = compileDtoCheck(dto);
  }

  /** Validates the frame's data and calls the handler; throws what the pipe or the handler throws. */
  run(connection: RawWsConnection, data: unknown): unknown {
    const dto = this.check?.(data);
    if (dto !== undefined) return this.handler(connection, dto);
    return this.validate(data).then((validated) => this.handler(connection, validated));
  }

  private async validate(data: unknown): Promise<T> {
    this.pipe ??= createRealtimeValidationPipe();
    return (await this.pipe.transform(data, { type: 'body', metatype: this.dto, data: undefined })) as T;
  }
}
