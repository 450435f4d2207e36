// Module events of the events API (rt_module_*, rt_telemetry_updated), sent to the modules page and the
// admins; an update that does not change the module's state is suppressed.
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ModuleAddedPayload, ModuleStateSnapshot, ModuleUpdatedPayload } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { EventsManager, type EventPayload } from './events-manager.service';
import { ModuleStateCache } from './module-state.cache';

@Injectable()
export class ModuleEvents {
  private readonly logger = new Logger('ModuleEvents');
  private readonly cache: ModuleStateCache;

  constructor(
    private readonly events: EventsManager,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
  ) {
    this.cache = new ModuleStateCache(options.events.stateCacheSize);
  }

  /** `rt_module_online`; returns false (nothing sent) when the module was already online. */
  emitModuleOnline(moduleId: string, data: { lastSeen?: string; [extra: string]: unknown } = {}): boolean {
    if (!this.cache.update(moduleId, 'status', 'online')) return false;
    this.logger.log(`Module ${moduleId} is now ONLINE`);
    this.send('rt_module_online', { ...data, moduleId, lastSeen: data.lastSeen ?? new Date().toISOString() });
    return true;
  }

  /** `rt_module_offline`; returns false when the module was already offline. */
  emitModuleOffline(moduleId: string, disconnectedAt: string = new Date().toISOString()): boolean {
    if (!this.cache.update(moduleId, 'status', 'offline')) return false;
    this.logger.log(`Module ${moduleId} is now OFFLINE`);
    this.send('rt_module_offline', { moduleId, disconnectedAt });
    return true;
  }

  /** `rt_module_added`: always sent; records the definition. */
  emitModuleAdded(userId: string, module: Omit<ModuleAddedPayload, 'userId'>): boolean {
    this.cache.update(module.moduleId, 'definition', { name: module.name, type: module.type });
    this.send('rt_module_added', { moduleId: module.moduleId, name: module.name, type: module.type, userId });
    return true;
  }

  /** `rt_module_removed`: always sent; forgets the module's state. */
  emitModuleRemoved(userId: string, moduleId: string): boolean {
    this.cache.forget(moduleId);
    this.send('rt_module_removed', { moduleId, userId });
    return true;
  }

  /** `rt_module_updated`; returns false when name and type are unchanged. */
  emitModuleUpdated(module: ModuleUpdatedPayload): boolean {
    if (!this.cache.update(module.moduleId, 'definition', { name: module.name, type: module.type }))
      return false;
    this.send('rt_module_updated', { moduleId: module.moduleId, name: module.name, type: module.type });
    return true;
  }

  /** `rt_telemetry_updated`; returns false when the telemetry equals the last one (key order ignored). */
  emitTelemetryUpdated(moduleId: string, telemetry: Record<string, unknown>): boolean {
    if (!this.cache.update(moduleId, 'telemetry', telemetry)) return false;
    this.send('rt_telemetry_updated', { moduleId, telemetry });
    return true;
  }

  /** Last known state of every cached module (served to reconnecting clients). */
  snapshot(): ModuleStateSnapshot[] {
    return this.cache.snapshot();
  }

  private send<
    E extends
      | 'rt_module_online'
      | 'rt_module_offline'
      | 'rt_module_added'
      | 'rt_module_removed'
      | 'rt_module_updated'
      | 'rt_telemetry_updated',
  >(event: E, data: EventPayload<E>): void {
    this.events.emitToTargets({ pages: [this.options.events.modulesPage], admins: true }, event, data);
  }
}
