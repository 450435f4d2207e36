// Holds the Socket.IO server created by RealtimeAdapter, for the services that emit through it.
import { Injectable } from '@nestjs/common';
import type { Server } from 'socket.io';

@Injectable()
export class SocketIoServerRef {
  private server: Server | null = null;

  attach(server: Server): void {
    this.server = server;
  }

  /** The server, or null before the adapter created it (or when no Socket.IO gateway is mounted). */
  get(): Server | null {
    return this.server;
  }
}
