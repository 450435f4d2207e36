// Validated bodies of the /rooms endpoints.
import { IsBoolean, IsOptional, IsString, Matches, ValidateBy } from 'class-validator';

export class CreateRoomDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'name must be 1-64 letters, digits, _ . or -' })
  name: string;

  @IsOptional()
  @IsBoolean()
  isPrivate?: boolean;
}

export class AddMemberDto {
  /** A user id as tokens carry it; numeric ids may be sent as numbers. */
  @ValidateBy({
    name: 'isUserId',
    validator: {
      validate: (value: unknown) =>
        (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) ||
        (typeof value === 'string' && value.length >= 1 && value.length <= 64),
      defaultMessage: () => 'userId must be a non-negative integer or a string of 1-64 characters',
    },
  })
  userId: string | number;
}
