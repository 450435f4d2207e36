// `reply_to`, `after_id` and `before_id` name a message id. The wire prints ids as they are, so a
// client may send one back as a decimal string ("42"), as the chat's `context.replyTo` accepts: the
// DTO takes a number or a decimal string and holds the number once validated.
import { ValidateBy, type ValidationOptions } from 'class-validator';

const DECIMAL = /^[0-9]+$/;

/** The message id as a number, or undefined when the value is not an integer id of at least `min`. */
export function toWireMessageId(value: unknown, min: number): number | undefined {
  const id =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && DECIMAL.test(value)
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(id) && id >= min ? id : undefined;
}

/**
 * A message id of at least `min` (a safe integer, as a number or as a string of decimal digits); a
 * string is replaced by its number on the DTO. The conversion happens in the validator rather than
 * in a class-transformer `@Transform` because any class-transformer decorator takes the DTO off the
 * compiled check of hot frames (`compileDtoCheck`): room_message and direct_message would all go
 * through the ValidationPipe. The compiled check and the pipe run this same function on the
 * instance they build, so both hand the handler the number.
 */
export function IsWireMessageId(min: 0 | 1, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isWireMessageId',
      constraints: [min],
      validator: {
        validate: (value, args) => {
          const id = toWireMessageId(value, min);
          if (id === undefined) return false;
          if (args && id !== value) (args.object as Record<string, unknown>)[args.property] = id;
          return true;
        },
        defaultMessage: (args) =>
          `${args?.property ?? 'value'} must be a message id: ${min === 0 ? 'a non-negative' : 'a positive'} ` +
          'integer, as a number or a decimal string',
      },
    },
    options,
  );
}
