// The gateways' validation pipe: RealtimeValidationPipe (createRealtimeValidationPipe) with the
// compiled accept path of every DTO that compiles (compiled-dto-check.ts). A body the DTO's check
// accepts becomes the DTO without class-transformer and class-validator's per-call machinery (their
// metadata search over every DTO class, about 35 µs of a `join_room` in the profile of 19,000 joins);
// any other body, and any other argument, goes to the ValidationPipe, which gives the same DTO or
// words the error. The check may accept less than the pipe, never something else (its spec compares
// the two on thousands of payloads per DTO).
import type { ArgumentMetadata, PipeTransform, Type, ValidationPipe } from '@nestjs/common';
import { compileDtoCheck, type DtoCheck } from './compiled-dto-check';
import { createRealtimeValidationPipe } from './realtime-validation.pipe';

export class CompiledValidationPipe implements PipeTransform {
  private readonly pipe: ValidationPipe = createRealtimeValidationPipe();
  /** Each body type's check, compiled on its first body (null: the pipe alone validates it). */
  private readonly checks = new Map<Type<object>, DtoCheck<object> | null>();

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    const { metatype } = metadata;
    if (metadata.type === 'body' && typeof metatype === 'function') {
      const dto = this.checkOf(metatype as Type<object>)?.(value);
      if (dto !== undefined) return dto;
    }
    return this.pipe.transform(value, metadata);
  }

  private checkOf(metatype: Type<object>): DtoCheck<object> | null {
    let check = this.checks.get(metatype);
    if (check === undefined) {
      // A primitive or a class without class-validator rules compiles to null (compileDtoCheck).
      check = compileDtoCheck(metatype);
      this.checks.set(metatype, check);
    }
    return check;
  }
}
