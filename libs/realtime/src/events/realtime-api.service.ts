// RealtimeApi: the facade a host injects in its controllers and services (the events API's RealTimeAPI,
// by dependency injection rather than app.locals).
import { Injectable } from '@nestjs/common';
import type {
  GlobalStats,
  ModuleAddedPayload,
  ModuleUpdatedPayload,
  UserLoggedInPayload,
  UserProfileUpdatedPayload,
} from '../protocol';
import { AdminEvents } from './admin-events.service';
import { EventsManager } from './events-manager.service';
import { ModuleEvents } from './module-events.service';
import { UserEvents } from './user-events.service';

/**
 * The module methods answer whether the event is sent: `false` when the state did not change. With
 * `redis`, the change is compared with the deployment's last state before sending, and they answer
 * `true` once the change is submitted.
 */
@Injectable()
export class RealtimeApi {
  constructor(
    readonly events: EventsManager,
    private readonly modules: ModuleEvents,
    private readonly users: UserEvents,
    private readonly admin: AdminEvents,
  ) {}

  emitModuleOnline(moduleId: string, data: { lastSeen?: string; [extra: string]: unknown } = {}): boolean {
    return this.modules.emitModuleOnline(moduleId, data);
  }

  emitModuleOffline(moduleId: string, disconnectedAt?: string): boolean {
    return this.modules.emitModuleOffline(moduleId, disconnectedAt);
  }

  emitModuleAdded(userId: string, module: Omit<ModuleAddedPayload, 'userId'>): boolean {
    return this.modules.emitModuleAdded(userId, module);
  }

  emitModuleRemoved(userId: string, moduleId: string): boolean {
    return this.modules.emitModuleRemoved(userId, moduleId);
  }

  emitModuleUpdated(module: ModuleUpdatedPayload): boolean {
    return this.modules.emitModuleUpdated(module);
  }

  emitTelemetryUpdated(moduleId: string, telemetry: Record<string, unknown>): boolean {
    return this.modules.emitTelemetryUpdated(moduleId, telemetry);
  }

  emitUserLoggedIn(user: UserLoggedInPayload): void {
    this.users.emitUserLoggedIn(user);
  }

  emitUserLoggedOut(user: { id: string; name: string }, logoutTime?: string): void {
    this.users.emitUserLoggedOut(user, logoutTime);
  }

  emitUserProfileUpdated(user: UserProfileUpdatedPayload): void {
    this.users.emitUserProfileUpdated(user);
  }

  /** Sends the current global stats to admins if they changed since the last ones sent. */
  emitGlobalStats(): Promise<boolean> {
    return this.admin.emitIfChanged();
  }

  getGlobalStats(): Promise<GlobalStats> {
    return this.admin.getStats();
  }
}
