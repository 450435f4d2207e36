// `to_user_id` / `with_user` arrive as a number (the seed's examples) or a string (non-numeric ids).
import { ValidateBy, type ValidationOptions } from 'class-validator';

export function isWireUserId(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0;
  return typeof value === 'string' && value.length >= 1 && value.length <= 64;
}

export function IsWireUserId(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isWireUserId',
      validator: {
        validate: isWireUserId,
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be a user id: a non-negative integer or a string of 1-64 characters`,
      },
    },
    options,
  );
}
