// The sample's modules table as the events API's ModuleStateSource: after a restart, rt_sync serves the
// stored modules and the first update of each is compared with its stored state.
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ModuleStateSnapshot, ModuleStateSource } from 'nest-realtime';
import { Repository } from 'typeorm';
import { ModuleEntity } from './module.entity';

@Injectable()
export class ModulesStateSource implements ModuleStateSource {
  constructor(@InjectRepository(ModuleEntity) private readonly modules: Repository<ModuleEntity>) {}

  async currentStates(): Promise<ModuleStateSnapshot[]> {
    const rows = await this.modules.find({ order: { createdAt: 'ASC' } });
    return rows.map((row) => ({
      moduleId: row.moduleId,
      status: row.status,
      definition: { name: row.name, type: row.type },
      // A module that never posted telemetry has none: the aspect is left out, as in the events.
      ...(row.telemetry ? { telemetry: row.telemetry } : {}),
    }));
  }
}
