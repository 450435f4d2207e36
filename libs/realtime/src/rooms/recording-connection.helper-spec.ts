// Unit-test double shared by the rooms specs (the -spec.ts suffix keeps it out of the library
// build): a real RawWsConnection over a stub socket that records what is sent and closed.
import type { IncomingMessage } from 'http';
import type { WebSocket } from 'ws';
import type { RealtimeIdentity } from '../core/auth/realtime-identity';
import { TransportCounters } from '../core/metrics/transport-counters.service';
import { dataEnvelopeCodec } from '../core/transport/frame-codec';
import { RawWsConnection } from '../core/transport/raw-ws-connection';

export interface RecordingConnection {
  connection: RawWsConnection;
  sent: string[];
  closes: Array<{ code: number; reason: string }>;
  socket: { readyState: number; bufferedAmount: number };
}

export function recordingConnection(url = '/ws/chat?token=t', maxBufferedBytes = 1024): RecordingConnection {
  const sent: string[] = [];
  const closes: Array<{ code: number; reason: string }> = [];
  const socket = {
    readyState: 1,
    bufferedAmount: 0,
    // A Buffer must go out as a text frame: the protocol's frames are JSON text.
    send: (data: string | Buffer, options?: { binary?: boolean }) => {
      if (typeof data !== 'string' && options?.binary !== false) throw new Error('sent as a binary frame');
      sent.push(data.toString());
    },
    close: (code: number, reason: string) => {
      closes.push({ code, reason });
      socket.readyState = 2;
    },
  };
  const connection = new RawWsConnection(
    socket as unknown as WebSocket,
    { url } as IncomingMessage,
    dataEnvelopeCodec,
    maxBufferedBytes,
    new TransportCounters(),
    'message_batch',
  );
  return { connection, sent, closes, socket };
}

export function identity(userId: string, username = `user-${userId}`): RealtimeIdentity {
  return { userId, username, roles: [], isAdmin: false, appId: null, page: null, expiresAt: null };
}
