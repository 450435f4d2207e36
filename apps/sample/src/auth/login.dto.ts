// Body of POST /auth/login.
import { IsEmail, IsOptional, IsString, Matches } from 'class-validator';

export class LoginDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,32}$/, { message: 'username must be 1-32 letters, digits, _ . or -' })
  username: string;

  @IsOptional()
  @IsEmail()
  email?: string;

  /** Application whose log stream this user reads. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'appId must be 1-64 letters, digits, _ . or -' })
  appId?: string;
}
