// Registers the sample's ModuleStateSource where RealtimeModule can inject it: a provider of the host is
// visible to the library's module only through a global module (the library does not import host modules).
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MODULE_STATE_SOURCE } from 'nest-realtime';
import { ModuleEntity } from './module.entity';
import { ModulesStateSource } from './modules-state.source';

@Global()
@Module({
  imports: [TypeOrmModule.forFeature([ModuleEntity])],
  providers: [{ provide: MODULE_STATE_SOURCE, useClass: ModulesStateSource }],
  exports: [MODULE_STATE_SOURCE],
})
export class ModulesStateModule {}
