// Module events of the events API (rt_module_*, rt_telemetry_updated), sent to the modules page and the
// admins; an update that does not change the module's state is suppressed. With a host ModuleStateSource,
// the dedupe cache is seeded from it at bootstrap and rt_sync reads the host's current states.
import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { ModuleAddedPayload, ModuleStateSnapshot, ModuleUpdatedPayload } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { RealtimeSetupError } from '../core/transport/adapter-check.service';
import { EventsManager, type EventPayload } from './events-manager.service';
import { ModuleStateCache } from './module-state.cache';
import { MODULE_STATE_SOURCE, toModuleStateSnapshots, type ModuleStateSource } from './module-state-source';

@Injectable()
export class ModuleEvents implements OnApplicationBootstrap {
  private readonly logger = new Logger('ModuleEvents');
  private readonly cache: ModuleStateCache;

  constructor(
    private readonly events: EventsManager,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    // Optional: a host without stored module states keeps the in-memory behaviour.
    @Optional() @Inject(MODULE_STATE_SOURCE) private readonly source?: ModuleStateSource,
    private readonly modulesContainer?: ModulesContainer,
  ) {
    this.cache = new ModuleStateCache(options.events.stateCacheSize);
  }

  /**
   * Seeds the dedupe cache with the host's stored states before the app listens, so the first
   * change after a restart is compared with the real last state. A source that cannot answer (its
   * database is down) does not stop the boot: the cost is one redundant event per module, and rt_sync
   * asks the source again. A malformed answer is a host bug and does stop it, naming the entry.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.source) {
      this.assertNoHiddenSource();
      return;
    }
    let answer: unknown;
    try {
      answer = await this.source.currentStates();
    } catch (error) {
      this.logger.error(
        'Could not read the ModuleStateSource at bootstrap; the first change of each module will be sent as new',
        error instanceof Error ? error.stack : String(error),
      );
      return;
    }
    const states = toModuleStateSnapshots(answer);
    for (const state of states) this.cache.seed(state);
    this.logger.log(`Seeded the module state cache with ${states.length} stored module(s)`);
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

  /** Last state sent of every cached module (what connected clients were told). */
  snapshot(): ModuleStateSnapshot[] {
    return this.cache.snapshot();
  }

  /**
   * The current state of every module, served to reconnecting clients by rt_sync. With a source,
   * exactly the modules it returns, each aspect as the source reports it, and the aspects it leaves
   * out filled from the last state sent; without one, the cache's snapshot. A failing source rejects
   * (the client gets an error ack rather than an empty list it would take for "no modules").
   */
  async currentStates(): Promise<ModuleStateSnapshot[]> {
    if (!this.source) return this.cache.snapshot();
    // Narrowed at the boundary: the host's objects (entity rows) never reach the wire as they are.
    const stored = toModuleStateSnapshots(await this.source.currentStates());
    return stored.map((state) => {
      const sent = this.cache.get(state.moduleId);
      return sent ? { ...structuredClone(sent), ...state } : state;
    });
  }

  /**
   * A source the host registered in a non-global module that RealtimeModule does not import (or did
   * not export) is invisible to this module and would be ignored without a word: the bug it was meant
   * to fix would stay. Stop the boot with the fix.
   */
  private assertNoHiddenSource(): void {
    const holder = [...(this.modulesContainer?.values() ?? [])].find((module) =>
      module.providers.has(MODULE_STATE_SOURCE),
    );
    if (!holder) return;
    throw new RealtimeSetupError(
      `a ModuleStateSource is registered under MODULE_STATE_SOURCE in ${holder.metatype.name}, which ` +
        'RealtimeModule cannot see, so rt_sync and change detection would ignore it. Provide and export it ' +
        'from a global module imported once by the application module:\n' +
        '  @Global() @Module({ providers: [{ provide: MODULE_STATE_SOURCE, useClass: MyModuleStateSource }], ' +
        'exports: [MODULE_STATE_SOURCE] })\n' +
        'or export it from its module and list that module in RealtimeModule.forRootAsync({ imports: [...] })',
    );
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
