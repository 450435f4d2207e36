// Module events of the events API (rt_module_*, rt_telemetry_updated), sent to the modules page and the
// admins; an update that does not change the module's state is suppressed. With a host ModuleStateSource,
// the dedupe cache is seeded from it at bootstrap and rt_sync reads the host's current states. With
// `redis`, the dedupe is the deployment's (SharedModuleStates): two nodes never send the same change.
import { Inject, Injectable, Logger, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import stringify from 'safe-stable-stringify';
import type { ModuleAddedPayload, ModuleStateSnapshot, ModuleUpdatedPayload } from '../protocol';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';
import { REALTIME_REDIS, type RealtimeRedisClients } from '../core/scale-out/redis-clients.provider';
import { RealtimeSetupError } from '../core/transport/adapter-check.service';
import { EventsManager, type EventPayload } from './events-manager.service';
import { ModuleStateCache, type ModuleAspect } from './module-state.cache';
import { SharedModuleStates } from './shared-module-states';
import { MODULE_STATE_SOURCE, toModuleStateSnapshots, type ModuleStateSource } from './module-state-source';

@Injectable()
export class ModuleEvents implements OnApplicationBootstrap {
  private readonly logger = new Logger('ModuleEvents');
  private readonly cache: ModuleStateCache;
  private readonly shared: SharedModuleStates | null;

  constructor(
    private readonly events: EventsManager,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    // Optional: a host without stored module states keeps the in-memory behaviour.
    @Optional() @Inject(MODULE_STATE_SOURCE) private readonly source?: ModuleStateSource,
    private readonly modulesContainer?: ModulesContainer,
    @Optional() @Inject(REALTIME_REDIS) redis?: RealtimeRedisClients | null,
  ) {
    this.cache = new ModuleStateCache(options.events.stateCacheSize);
    this.shared = redis ? new SharedModuleStates(redis) : null;
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
    if (this.shared) {
      try {
        await this.shared.seed(
          states.map((state) => ({ moduleId: state.moduleId, fingerprints: fingerprintsOf(state) })),
        );
      } catch (error) {
        this.logger.error(
          'Could not seed the shared module states in Redis; the first change of each module may be sent again',
          error instanceof Error ? error.stack : String(error),
        );
      }
    }
    this.logger.log(`Seeded the module state cache with ${states.length} stored module(s)`);
  }

  /** `rt_module_online`; returns false (nothing sent) when the module was already online. */
  emitModuleOnline(moduleId: string, data: { lastSeen?: string; [extra: string]: unknown } = {}): boolean {
    const payload = { ...data, moduleId, lastSeen: data.lastSeen ?? new Date().toISOString() };
    return this.ifChanged(moduleId, 'status', 'online', () => {
      this.logger.log(`Module ${moduleId} is now ONLINE`);
      this.send('rt_module_online', payload);
    });
  }

  /** `rt_module_offline`; returns false when the module was already offline. */
  emitModuleOffline(moduleId: string, disconnectedAt: string = new Date().toISOString()): boolean {
    return this.ifChanged(moduleId, 'status', 'offline', () => {
      this.logger.log(`Module ${moduleId} is now OFFLINE`);
      this.send('rt_module_offline', { moduleId, disconnectedAt });
    });
  }

  /** `rt_module_added`: always sent; records the definition. */
  emitModuleAdded(userId: string, module: Omit<ModuleAddedPayload, 'userId'>): boolean {
    this.record(module.moduleId, 'definition', { name: module.name, type: module.type });
    this.send('rt_module_added', { moduleId: module.moduleId, name: module.name, type: module.type, userId });
    return true;
  }

  /** `rt_module_removed`: always sent; forgets the module's state. */
  emitModuleRemoved(userId: string, moduleId: string): boolean {
    this.cache.forget(moduleId);
    this.shared?.forget(moduleId).catch((error: unknown) => this.sharedFailed('forget', moduleId, error));
    this.send('rt_module_removed', { moduleId, userId });
    return true;
  }

  /** `rt_module_updated`; returns false when name and type are unchanged. */
  emitModuleUpdated(module: ModuleUpdatedPayload): boolean {
    const payload = { moduleId: module.moduleId, name: module.name, type: module.type };
    return this.ifChanged(module.moduleId, 'definition', { name: module.name, type: module.type }, () =>
      this.send('rt_module_updated', payload),
    );
  }

  /** `rt_telemetry_updated`; returns false when the telemetry equals the last one (key order ignored). */
  emitTelemetryUpdated(moduleId: string, telemetry: Record<string, unknown>): boolean {
    // A copy: the caller may change its object before a deployment-wide check answers.
    const sent = this.shared ? structuredClone(telemetry) : telemetry;
    return this.ifChanged(moduleId, 'telemetry', sent, () =>
      this.send('rt_telemetry_updated', { moduleId, telemetry: sent }),
    );
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
    const sentStates = this.shared ? await this.shared.snapshot() : null;
    if (!this.source) return sentStates ?? this.cache.snapshot();
    const sentById = sentStates ? new Map(sentStates.map((state) => [state.moduleId, state])) : null;
    // Narrowed at the boundary: the host's objects (entity rows) never reach the wire as they are.
    const stored = toModuleStateSnapshots(await this.source.currentStates());
    return stored.map((state) => {
      const sent = sentById ? sentById.get(state.moduleId) : this.cache.get(state.moduleId);
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

  /**
   * Sends when the aspect changed. One node: decided now, against this node's cache, and the answer
   * says whether it was sent. With `redis`: decided by the deployment's shared states before sending
   * (true means submitted); if Redis fails, the event is sent (a repeat rather than a loss).
   */
  private ifChanged<A extends ModuleAspect>(
    moduleId: string,
    aspect: A,
    value: NonNullable<ModuleStateSnapshot[A]>,
    send: () => void,
  ): boolean {
    if (!this.shared) {
      if (!this.cache.update(moduleId, aspect, value)) return false;
      send();
      return true;
    }
    this.shared.update(moduleId, aspect, stringify(value) ?? '').then(
      (changed) => {
        if (!changed) return;
        this.cache.update(moduleId, aspect, value);
        send();
      },
      (error: unknown) => {
        this.sharedFailed('compare', moduleId, error);
        this.cache.update(moduleId, aspect, value);
        send();
      },
    );
    return true;
  }

  /** Records an aspect without deciding a send (here and, with `redis`, for the deployment). */
  private record<A extends ModuleAspect>(
    moduleId: string,
    aspect: A,
    value: NonNullable<ModuleStateSnapshot[A]>,
  ): void {
    this.cache.update(moduleId, aspect, value);
    this.shared
      ?.update(moduleId, aspect, stringify(value) ?? '')
      .catch((error: unknown) => this.sharedFailed('record', moduleId, error));
  }

  private sharedFailed(what: string, moduleId: string, error: unknown): void {
    this.logger.warn(
      `Could not ${what} the shared state of module ${moduleId} in Redis: ${error instanceof Error ? error.message : String(error)}`,
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

/** The stable JSON of each aspect a stored state has (what the dedupe compares). */
function fingerprintsOf(state: ModuleStateSnapshot): Partial<Record<ModuleAspect, string>> {
  const fingerprints: Partial<Record<ModuleAspect, string>> = {};
  for (const aspect of ['status', 'definition', 'telemetry'] as const) {
    const value = state[aspect];
    if (value !== undefined) fingerprints[aspect] = stringify(value) ?? '';
  }
  return fingerprints;
}
