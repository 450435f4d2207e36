// Payload of the `subscribe` frame (addition): which levels and which text a client wants.
import { ArrayMaxSize, IsArray, IsOptional, IsString, Length, MaxLength } from 'class-validator';
import type { LogFilter } from '../../protocol';

export class StreamSubscribeDto implements LogFilter {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @Length(1, 32, { each: true })
  levels?: string[];

  @IsOptional()
  @IsString()
  @MaxLength(200)
  text?: string;
}
