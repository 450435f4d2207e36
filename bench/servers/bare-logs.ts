// Baseline for the log stream: plain express + ws doing the same relay as the log stream — a Bearer token
// (HS256, appId claim) on POST /apps/:appId/logs, entries given ids and kept (last 1000 per app),
// everything posted within one tick sent as one `logs` frame, serialised once, to the app's
// subscribers at /ws/logs?token=... (connect, auth_success, backlog of 100). No Nest, no validation
// library, no metrics.
import express from 'express';
import { createServer } from 'http';
import * as jwt from 'jsonwebtoken';
import type { LogEntry, LogIngestResult } from 'nest-realtime';
import { WebSocket, WebSocketServer } from 'ws';
import { announceReady, BENCH_KEY, serveUsage } from '../bench-protocol';

const BUFFER_SIZE = 1000;
const BACKLOG_SIZE = 100;

interface Claims {
  sub: string;
  appId?: string;
}

const subscribers = new Map<string, Set<WebSocket>>();
const stored = new Map<string, LogEntry[]>();
const pending = new Map<string, LogEntry[]>();
let flushScheduled = false;
let sequence = 0;

function verify(token: string | undefined): Claims | null {
  if (!token) return null;
  try {
    return jwt.verify(token, BENCH_KEY, { algorithms: ['HS256'] }) as Claims;
  } catch {
    // An invalid token is an answer (401 / close), not an error of the server.
    return null;
  }
}

function flush(): void {
  flushScheduled = false;
  for (const [appId, entries] of pending) {
    const kept = stored.get(appId) ?? [];
    kept.push(...entries);
    if (kept.length > BUFFER_SIZE) kept.splice(0, kept.length - BUFFER_SIZE);
    stored.set(appId, kept);
    const text = JSON.stringify({ type: 'logs', payload: entries });
    for (const socket of subscribers.get(appId) ?? []) {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    }
  }
  pending.clear();
}

const app = express();
app.use(express.json({ limit: '1mb' }));
app.post('/apps/:appId/logs', (req, res) => {
  const header = req.headers.authorization ?? '';
  const claims = verify(header.startsWith('Bearer ') ? header.slice(7) : undefined);
  if (!claims) {
    res.status(401).json({ statusCode: 401, code: 'AUTH_FAILED' });
    return;
  }
  const appId = req.params.appId;
  if (claims.appId !== appId) {
    res.status(403).json({ statusCode: 403, code: 'PERMISSION_DENIED' });
    return;
  }
  const body = req.body as unknown;
  const items = (Array.isArray(body) ? body : [body]) as Array<{ level?: unknown; message?: unknown }>;
  if (items.some((item) => typeof item?.level !== 'string' || typeof item.message !== 'string')) {
    res.status(400).json({ statusCode: 400, code: 'INVALID_FORMAT' });
    return;
  }
  const entries: LogEntry[] = items.map((item) => ({
    id: `${Date.now()}-${String((sequence += 1)).padStart(10, '0')}`,
    timestamp: Date.now(),
    level: item.level as string,
    message: item.message as string,
    appId,
    userId: claims.sub,
  }));
  const queue = pending.get(appId);
  if (queue) queue.push(...entries);
  else pending.set(appId, entries);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
  const result: LogIngestResult = { accepted: entries.length, ids: entries.map((entry) => entry.id) };
  res.status(202).json(result);
});

const server = createServer(app);
const wss = new WebSocketServer({ server, path: '/ws/logs' });
wss.on('connection', (socket, req) => {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
  socket.send(JSON.stringify({ type: 'connect', payload: {} }));
  const claims = verify(query.get('token') ?? undefined);
  if (!claims?.appId) {
    socket.send(JSON.stringify({ type: 'auth_error', payload: { message: 'Token invalid' } }));
    socket.close(4401, 'Token invalid');
    return;
  }
  const appId = claims.appId;
  const members = subscribers.get(appId) ?? new Set<WebSocket>();
  members.add(socket);
  subscribers.set(appId, members);
  socket.on('close', () => members.delete(socket));
  socket.send(JSON.stringify({ type: 'auth_success', payload: { appId, userId: claims.sub } }));
  socket.send(JSON.stringify({ type: 'logs', payload: (stored.get(appId) ?? []).slice(-BACKLOG_SIZE) }));
});

serveUsage(
  () => wss.clients.size,
  () => new Promise((resolve) => server.close(() => resolve())),
);
server.listen(0, '127.0.0.1', () => announceReady((server.address() as { port: number }).port));
