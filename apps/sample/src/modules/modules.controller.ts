// /modules REST: list, create, update, delete, telemetry, online/offline. Bearer token required.
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ConnectedUser, RealtimeAuthGuard, type RealtimeIdentity } from 'nest-realtime';
import { CreateModuleDto, TelemetryDto, UpdateModuleDto } from './modules.dto';
import { ModulesService } from './modules.service';

@Controller('modules')
@UseGuards(RealtimeAuthGuard)
export class ModulesController {
  constructor(private readonly modules: ModulesService) {}

  @Get()
  list() {
    return this.modules.list();
  }

  @Get(':moduleId')
  get(@Param('moduleId') moduleId: string) {
    return this.modules.get(moduleId);
  }

  @Post()
  create(@ConnectedUser() user: RealtimeIdentity, @Body() dto: CreateModuleDto) {
    return this.modules.create(user, dto);
  }

  @Patch(':moduleId')
  update(
    @ConnectedUser() user: RealtimeIdentity,
    @Param('moduleId') moduleId: string,
    @Body() dto: UpdateModuleDto,
  ) {
    return this.modules.update(user, moduleId, dto);
  }

  @Delete(':moduleId')
  @HttpCode(204)
  remove(@ConnectedUser() user: RealtimeIdentity, @Param('moduleId') moduleId: string) {
    return this.modules.remove(user, moduleId);
  }

  @Post(':moduleId/telemetry')
  @HttpCode(200)
  telemetry(
    @ConnectedUser() user: RealtimeIdentity,
    @Param('moduleId') moduleId: string,
    @Body() dto: TelemetryDto,
  ) {
    return this.modules.telemetry(user, moduleId, dto.telemetry);
  }

  @Post(':moduleId/online')
  @HttpCode(200)
  online(@ConnectedUser() user: RealtimeIdentity, @Param('moduleId') moduleId: string) {
    return this.modules.setStatus(user, moduleId, 'online');
  }

  @Post(':moduleId/offline')
  @HttpCode(200)
  offline(@ConnectedUser() user: RealtimeIdentity, @Param('moduleId') moduleId: string) {
    return this.modules.setStatus(user, moduleId, 'offline');
  }
}
