// The module state seam: where the events API reads the host's current module states, so that rt_sync
// and change detection survive a restart (the library's own cache lives in memory only).
import { Inject } from '@nestjs/common';
import type { ModuleStateSnapshot } from '../protocol';

/**
 * Implemented by the host, over whatever holds its modules (a table, a device registry).
 *
 * The library asks it once at application bootstrap, to seed the change-dedupe cache (the first change
 * after a restart is then compared with the stored state instead of being sent as new), and on every
 * `rt_sync` from the modules page or an admin.
 *
 * Register it under {@link MODULE_STATE_SOURCE} in a `@Global()` module of the host; when no source is
 * registered, `rt_sync` serves only the states sent since the process started.
 */
export interface ModuleStateSource {
  /**
   * The current state of every module clients may see. Leave out an aspect the host does not keep
   * (e.g. no `status` when online status lives only in memory): the library fills it from the last
   * state it sent.
   */
  currentStates(): Promise<ModuleStateSnapshot[]>;
}

/** Injection token of the host's {@link ModuleStateSource}. */
export const MODULE_STATE_SOURCE = Symbol('MODULE_STATE_SOURCE');

export const InjectModuleStateSource = (): ParameterDecorator & PropertyDecorator =>
  Inject(MODULE_STATE_SOURCE);

/**
 * Narrows what the host's source returned to the wire shape: unknown keys (entity columns) are
 * dropped, null aspects left out, and a malformed entry is an error naming its position.
 */
export function toModuleStateSnapshots(states: unknown): ModuleStateSnapshot[] {
  if (!Array.isArray(states)) {
    throw new TypeError(`ModuleStateSource.currentStates() must resolve to an array (got ${typeof states})`);
  }
  return states.map((state: unknown, index) => {
    const invalid = (what: string): TypeError =>
      new TypeError(`ModuleStateSource.currentStates()[${index}]: ${what}`);
    if (!isRecord(state)) throw invalid('must be an object');
    const { moduleId, status, definition, telemetry } = state;
    if (typeof moduleId !== 'string' || moduleId === '') throw invalid('moduleId must be a non-empty string');
    const snapshot: ModuleStateSnapshot = { moduleId };
    if (status != null) {
      if (status !== 'online' && status !== 'offline') throw invalid('status must be "online" or "offline"');
      snapshot.status = status;
    }
    if (definition != null) {
      if (
        !isRecord(definition) ||
        typeof definition.name !== 'string' ||
        typeof definition.type !== 'string'
      ) {
        throw invalid('definition must be { name: string, type: string }');
      }
      snapshot.definition = { name: definition.name, type: definition.type };
    }
    if (telemetry != null) {
      if (!isRecord(telemetry)) throw invalid('telemetry must be an object');
      snapshot.telemetry = telemetry;
    }
    return snapshot;
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
