// The chat gateway's validation: CompiledValidationPipe, with a shortcut for the `message` body. A
// ValidationPipe call (class-transformer, then class-validator's metadata search, error objects and
// promises) cost about 50 µs of a chat message's CPU. The shortcut runs the DTO's compiled check
// (core/compiled-dto-check.ts) and copies a `context` of plain values as class-transformer would; any
// payload it does not accept goes to the ValidationPipe, so accepted bodies and errors are the pipe's.
import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { compileDtoCheck } from '../core/compiled-dto-check';
import { CompiledValidationPipe } from '../core/compiled-validation.pipe';
import { ChatMessageDto } from './dto/chat-message.dto';

/**
 * A copy of `context` as class-transformer makes it for an untyped field, or undefined when that is
 * not sure: only a plain object whose values are strings, numbers, booleans or null, none of whose
 * keys names something of `Object.prototype` (class-transformer skips those that name a method).
 */
function plainContext(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
    return undefined;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    // ValidationPipe strips `__proto__`, `prototype` and `constructor` from nested objects: those
    // bodies take its path, so that the stored and delivered context is the same.
    if (key in Object.prototype || key === 'prototype') return undefined;
    const field = (value as Record<string, unknown>)[key];
    if (field !== null && typeof field === 'object') return undefined;
    if (typeof field === 'function' || typeof field === 'symbol' || typeof field === 'bigint')
      return undefined;
    copy[key] = field;
  }
  return copy;
}

export class ChatValidationPipe implements PipeTransform {
  /** The other bodies (`join`, `leave`): their compiled checks, else ValidationPipe. */
  private readonly pipe = new CompiledValidationPipe();
  private readonly check = compileDtoCheck(ChatMessageDto);

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && metadata.metatype === ChatMessageDto) {
      const dto = this.messageBody(value);
      if (dto !== undefined) return dto;
    }
    return this.pipe.transform(value, metadata);
  }

  /** The DTO the pipe would build from a `message` body, when the shortcut can tell; else undefined. */
  private messageBody(value: unknown): ChatMessageDto | undefined {
    if (this.check === null || typeof value !== 'object' || value === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, 'context')) return this.check(value);
    if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
    const body = value as { message?: unknown; context?: unknown };
    const context = plainContext(body.context);
    if (context === undefined) return undefined;
    // The rest of the body checked without its context; the context, a plain object, is an object.
    const dto = this.check(
      Object.prototype.hasOwnProperty.call(value, 'message') ? { message: body.message } : {},
    );
    if (dto === undefined) return undefined;
    dto.context = context;
    return dto;
  }
}
