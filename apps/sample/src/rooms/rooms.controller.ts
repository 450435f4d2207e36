// /rooms REST of the sample host: create rooms (public or private) and add members to them, through
// the library's RoomDirectory. Bearer token required; private room membership is for admins.
import {
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import {
  ConnectedUser,
  InjectUserDirectory,
  RealtimeAuthGuard,
  RealtimeError,
  RoomDirectory,
  type RealtimeIdentity,
  type RoomSummary,
  type UserDirectory,
} from 'nest-realtime';
import { AddMemberDto, CreateRoomDto } from './rooms.dto';

/** The library's errors as HTTP statuses (the ones RoomDirectory raises here). */
function toHttp(error: unknown): unknown {
  if (!(error instanceof RealtimeError)) return error;
  const body = { statusCode: 0, code: error.code, message: error.message, details: error.details };
  switch (error.code) {
    case 'ROOM_NOT_FOUND':
    case 'USER_NOT_FOUND':
      return new NotFoundException({ ...body, statusCode: 404 });
    case 'PERMISSION_DENIED':
      return new ConflictException({ ...body, statusCode: 409 });
    default:
      return error;
  }
}

@Controller('rooms')
@UseGuards(RealtimeAuthGuard)
export class RoomsController {
  constructor(
    private readonly rooms: RoomDirectory,
    @InjectUserDirectory() private readonly users: UserDirectory,
  ) {}

  /** 201 with the room; 409 when the name is taken. A private room's creator becomes its member. */
  @Post()
  async create(@ConnectedUser() user: RealtimeIdentity, @Body() dto: CreateRoomDto): Promise<RoomSummary> {
    try {
      return await this.rooms.create({ name: dto.name, isPrivate: dto.isPrivate, createdBy: user.userId });
    } catch (error) {
      throw toHttp(error);
    }
  }

  /** 200; 404 for an unknown room or user; 403 for a private room unless the caller is an admin. */
  @Post(':name/members')
  @HttpCode(200)
  async addMember(
    @ConnectedUser() user: RealtimeIdentity,
    @Param('name') name: string,
    @Body() dto: AddMemberDto,
  ): Promise<{ room: string; userId: string }> {
    const userId = String(dto.userId);
    try {
      const room = await this.rooms.require(name);
      if (room.isPrivate && !user.isAdmin) {
        throw new ForbiddenException({
          statusCode: 403,
          code: 'PERMISSION_DENIED',
          message: 'Only admins add members to a private room',
        });
      }
      if (!(await this.users.findById(userId))) {
        throw new NotFoundException({ statusCode: 404, code: 'USER_NOT_FOUND', message: 'User not found' });
      }
      await this.rooms.addMember(room.name, userId);
      return { room: room.name, userId };
    } catch (error) {
      throw toHttp(error);
    }
  }
}
