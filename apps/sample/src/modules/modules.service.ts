// Modules CRUD of the sample host: persisted, and every change announced through RealtimeApi.
import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { RealtimeApi, type RealtimeIdentity } from 'nest-realtime';
import { Repository } from 'typeorm';
import { ModuleEntity } from './module.entity';
import type { CreateModuleDto, UpdateModuleDto } from './modules.dto';

@Injectable()
export class ModulesService {
  constructor(
    @InjectRepository(ModuleEntity) private readonly modules: Repository<ModuleEntity>,
    private readonly realtime: RealtimeApi,
  ) {}

  list(): Promise<ModuleEntity[]> {
    return this.modules.find({ order: { createdAt: 'ASC' } });
  }

  async get(moduleId: string): Promise<ModuleEntity> {
    const module = await this.modules.findOne({ where: { moduleId } });
    if (!module) throw new NotFoundException(`Module ${moduleId} not found`);
    return module;
  }

  async create(user: RealtimeIdentity, dto: CreateModuleDto): Promise<ModuleEntity> {
    if (await this.modules.exist({ where: { moduleId: dto.moduleId } })) {
      throw new ConflictException(`Module ${dto.moduleId} already exists`);
    }
    const saved = await this.modules.save(
      this.modules.create({
        ...dto,
        userId: user.userId,
        status: 'offline',
        telemetry: null,
        lastSeen: null,
      }),
    );
    this.realtime.emitModuleAdded(user.userId, {
      moduleId: saved.moduleId,
      name: saved.name,
      type: saved.type,
    });
    return saved;
  }

  async update(user: RealtimeIdentity, moduleId: string, dto: UpdateModuleDto): Promise<ModuleEntity> {
    const module = await this.owned(user, moduleId);
    // Only the fields sent: the transformed DTO carries absent ones as undefined.
    if (dto.name !== undefined) module.name = dto.name;
    if (dto.type !== undefined) module.type = dto.type;
    const saved = await this.modules.save(module);
    this.realtime.emitModuleUpdated({ moduleId, name: saved.name, type: saved.type });
    return saved;
  }

  async remove(user: RealtimeIdentity, moduleId: string): Promise<void> {
    const module = await this.owned(user, moduleId);
    await this.modules.delete({ moduleId });
    this.realtime.emitModuleRemoved(module.userId, moduleId);
  }

  async telemetry(user: RealtimeIdentity, moduleId: string, telemetry: Record<string, unknown>) {
    const module = await this.owned(user, moduleId);
    module.telemetry = telemetry;
    await this.modules.save(module);
    return { moduleId, emitted: this.realtime.emitTelemetryUpdated(moduleId, telemetry) };
  }

  async setStatus(user: RealtimeIdentity, moduleId: string, status: 'online' | 'offline') {
    const module = await this.owned(user, moduleId);
    const now = new Date().toISOString();
    module.status = status;
    if (status === 'online') module.lastSeen = now;
    await this.modules.save(module);
    const emitted =
      status === 'online'
        ? this.realtime.emitModuleOnline(moduleId, { lastSeen: now, name: module.name })
        : this.realtime.emitModuleOffline(moduleId, now);
    return { moduleId, status, emitted };
  }

  private async owned(user: RealtimeIdentity, moduleId: string): Promise<ModuleEntity> {
    const module = await this.get(moduleId);
    if (module.userId !== user.userId && !user.isAdmin) {
      throw new ForbiddenException(`Module ${moduleId} belongs to another user`);
    }
    return module;
  }
}
