// Events API wire contract: the rt_* events the server emits over Socket.IO and their payloads.

/** `rt_module_online`: `{ moduleId, lastSeen, ... }` (extra fields are passed through). */
export interface ModuleOnlinePayload {
  moduleId: string;
  lastSeen: string;
  [extra: string]: unknown;
}
/** `rt_module_offline`: `{ moduleId, disconnectedAt }`. */
export interface ModuleOfflinePayload {
  moduleId: string;
  disconnectedAt: string;
}
/** `rt_module_added`: `{ moduleId, name, type, userId }`. */
export interface ModuleAddedPayload {
  moduleId: string;
  name: string;
  type: string;
  userId: string;
}
/** `rt_module_removed`: `{ moduleId, userId }`. */
export interface ModuleRemovedPayload {
  moduleId: string;
  userId: string;
}
/** `rt_module_updated`: `{ moduleId, name, type }`. */
export interface ModuleUpdatedPayload {
  moduleId: string;
  name: string;
  type: string;
}
/** `rt_telemetry_updated`: `{ moduleId, telemetry }`. */
export interface TelemetryUpdatedPayload {
  moduleId: string;
  telemetry: Record<string, unknown>;
}
/** `rt_user_logged_in`: `{ id, name, email, isAdmin }`. */
export interface UserLoggedInPayload {
  id: string;
  name: string;
  email: string | null;
  isAdmin: boolean;
}
/** `rt_user_logged_out`: `{ id, name, logoutTime }`. */
export interface UserLoggedOutPayload {
  id: string;
  name: string;
  logoutTime: string;
}
/** `rt_user_profile_updated`: `{ id, name, email }`. */
export interface UserProfileUpdatedPayload {
  id: string;
  name: string;
  email: string | null;
}
/** Figures of `rt_global_stats_updated`. */
export interface GlobalStats {
  /** Users known to the user store. */
  totalUsers: number;
  /** Distinct users with at least one open connection on this node. */
  activeUsers: number;
  /** Open connections on this node, all transports. */
  connections: number;
  /** Open connections per transport. */
  connectionsByTransport: { socketIo: number; ws: number };
}
/** `rt_global_stats_updated`: `{ stats: { totalUsers, activeUsers, ... } }`. */
export interface GlobalStatsUpdatedPayload {
  stats: GlobalStats;
}

/** Last known state of one module, as kept by the change-dedupe cache and served by `rt_sync`. */
export interface ModuleStateSnapshot {
  moduleId: string;
  status?: 'online' | 'offline';
  definition?: { name: string; type: string };
  telemetry?: Record<string, unknown>;
}

/** Ack of the client's `rt_sync` request: what a reconnecting client needs to redraw its page. */
export interface SyncStatePayload {
  serverTime: string;
  user: { id: string; username: string; isAdmin: boolean; page: string | null };
  modules: ModuleStateSnapshot[];
  /** Present for admins only. */
  stats?: GlobalStats;
}

/** Server → client event map of the events API (Socket.IO default namespace). */
export interface RealtimeServerEvents {
  rt_module_online: ModuleOnlinePayload;
  rt_module_offline: ModuleOfflinePayload;
  rt_module_added: ModuleAddedPayload;
  rt_module_removed: ModuleRemovedPayload;
  rt_module_updated: ModuleUpdatedPayload;
  rt_telemetry_updated: TelemetryUpdatedPayload;
  rt_user_logged_in: UserLoggedInPayload;
  rt_user_logged_out: UserLoggedOutPayload;
  rt_user_profile_updated: UserProfileUpdatedPayload;
  rt_global_stats_updated: GlobalStatsUpdatedPayload;
}

export type RealtimeServerEventName = keyof RealtimeServerEvents;

/** Client → server: `rt_sync` (ack: SyncStatePayload). */
export const RT_SYNC_EVENT = 'rt_sync';
