// The chat's "Timeout": a socket that used the chat and then stays silent for limits.idleTimeoutMs is
// disconnected. Sockets that only listen (events API pages) are never closed for silence; Socket.IO's
// own heartbeat already drops dead peers.
import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { REALTIME_OPTIONS } from '../realtime.constants';
import type { ResolvedRealtimeOptions } from '../realtime.options';

@Injectable()
export class ChatIdleService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly lastActivity = new Map<string, { socket: Socket; at: number }>();
  private sweep: NodeJS.Timeout | null = null;

  constructor(@Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions) {}

  onApplicationBootstrap(): void {
    const { idleTimeoutMs, heartbeatIntervalMs } = this.options.limits;
    if (idleTimeoutMs <= 0) return;
    this.sweep = setInterval(() => this.closeIdle(idleTimeoutMs), heartbeatIntervalMs);
    this.sweep.unref();
  }

  beforeApplicationShutdown(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    this.lastActivity.clear();
  }

  touch(socket: Socket): void {
    this.lastActivity.set(socket.id, { socket, at: Date.now() });
  }

  forget(socketId: string): void {
    this.lastActivity.delete(socketId);
  }

  private closeIdle(idleTimeoutMs: number): void {
    const now = Date.now();
    for (const [id, { socket, at }] of this.lastActivity) {
      if (now - at <= idleTimeoutMs) continue;
      this.lastActivity.delete(id);
      socket.disconnect(true);
    }
  }
}
