// Payload of the `auth` frame. A missing token is the verifier's to refuse (auth_error), not the pipe's.
import { IsOptional, IsString } from 'class-validator';

export class StreamAuthDto {
  @IsOptional()
  @IsString()
  token?: string;
}
