// The servers the scenarios compare (bench/servers/*), how the load generator reaches each, and its tokens.
import * as jwt from 'jsonwebtoken';
import { BENCH_SECRET } from './bench-protocol';

export type ServerName =
  | 'bare-ws'
  | 'bare-ws-framed'
  | 'bare-ws-auth'
  | 'bare-socketio'
  | 'bare-socketio-auth'
  | 'uws'
  | 'sample'
  | 'bare-logs';

export interface Target {
  label: string;
  server: ServerName;
  transport: 'ws' | 'socket.io';
  auth: boolean;
  /** The publisher sends a request id with each message (see LoadSpec.ref). */
  ref?: boolean;
}

export const TARGETS: Record<string, Target> = {
  bareWs: { label: 'bare ws', server: 'bare-ws', transport: 'ws', auth: false },
  bareWsFramed: { label: 'bare ws, framed once', server: 'bare-ws-framed', transport: 'ws', auth: false },
  rooms: { label: 'rooms gateway (/ws/chat)', server: 'sample', transport: 'ws', auth: true },
  roomsRef: {
    label: 'rooms gateway, messages with request ids',
    server: 'sample',
    transport: 'ws',
    auth: true,
    ref: true,
  },
  uws: { label: 'uWebSockets.js publish', server: 'uws', transport: 'ws', auth: false },
  bareIo: { label: 'bare Socket.IO', server: 'bare-socketio', transport: 'socket.io', auth: false },
  // The connections group's baselines: the bare servers with the gateways' JWT check at the handshake.
  bareWsAuth: { label: 'bare ws with the JWT check', server: 'bare-ws-auth', transport: 'ws', auth: true },
  bareIoAuth: {
    label: 'bare Socket.IO with the JWT check',
    server: 'bare-socketio-auth',
    transport: 'socket.io',
    auth: true,
  },
  chat: { label: 'chat gateway (Socket.IO)', server: 'sample', transport: 'socket.io', auth: true },
};

/** Targets served by this repository's own code (the sample app), which `--baseline` runs from a commit too. */
export function isOurs(targetKey: string): boolean {
  return TARGETS[targetKey]?.server === 'sample';
}

/**
 * `count` tokens of `users` users (token k for user k mod users). With `distinct`, each token also
 * carries its own `jti`, so that no two are the same text: the library remembers tokens it verified
 * (`auth.verifiedTokenCache`), and a handshake rate measured with repeated tokens would leave most
 * signature checks out.
 */
export function tokens(
  count: number,
  claims: Record<string, string> = {},
  users = count,
  distinct = false,
): string[] {
  return Array.from({ length: count }, (_, k) =>
    jwt.sign(
      {
        sub: String(100_000 + (k % users)),
        username: `bench${k % users}`,
        ...claims,
        ...(distinct ? { jti: `t${k}` } : {}),
      },
      BENCH_SECRET,
      { algorithm: 'HS256', expiresIn: 3600 },
    ),
  );
}

export function urlFor(target: Target, port: number): string {
  return target.transport === 'ws' ? `ws://127.0.0.1:${port}/ws/chat` : `http://127.0.0.1:${port}`;
}
