// The payload of `announce`, validated by the gateways' pipe (INVALID_FORMAT naming the field).
import { IsString, Length } from 'class-validator';

export class AnnounceDto {
  @IsString()
  @Length(1, 500)
  text!: string;
}
