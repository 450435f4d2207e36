// The `idle` group: heap and RSS per idle connection (after forced GCs), our gateways and bare servers.
import { ServerProcess } from '../runner';
import { TARGETS, tokens, urlFor } from '../targets';
import { startLoad, type ScenarioContext } from './fanout';
import type { LoadSpec } from '../loadgen';

/** Distinct users behind the idle connections. */
export const IDLE_USERS = 100;

export interface IdleResult {
  target: string;
  connections: number;
  heapPerConnection: number;
  rssPerConnection: number;
}

async function idleRound(targetKey: string, connections: number): Promise<IdleResult> {
  const target = TARGETS[targetKey]!;
  const server = await ServerProcess.start(target.server);
  try {
    const before = await server.usage(true);
    const spec: LoadSpec = {
      transport: target.transport,
      url: urlFor(target, server.port),
      // 100 users with many connections each: every user's first connection is announced to every
      // Socket.IO socket (the chat's `userStatus`), so 10,000 distinct users cost 50 million packets.
      tokens: target.auth ? tokens(connections, {}, Math.min(connections, IDLE_USERS)) : [],
      subscribers: connections,
      rate: 0,
      bytes: 0,
      warmupSec: 0,
      durationSec: 0,
    };
    const { child, result } = startLoad(spec);
    await new Promise<void>((resolve, reject) => {
      child.on('message', () => resolve());
      result.catch(reject);
    });
    const after = await server.usage(true);
    child.send('stop');
    await result;
    const held = Math.max(after.connections - before.connections, 1);
    return {
      target: targetKey,
      connections: held,
      heapPerConnection: (after.heapUsed - before.heapUsed) / held,
      rssPerConnection: (after.rss - before.rss) / held,
    };
  } finally {
    await server.stop();
  }
}

/** bare ws, rooms, bare Socket.IO, chat: 10,000 connections each (50 in smoke runs). */
export async function runIdle(context: ScenarioContext): Promise<IdleResult[]> {
  const idle: IdleResult[] = [];
  for (const target of ['bareWs', 'rooms', 'bareIo', 'chat']) {
    idle.push(await idleRound(target, context.smoke ? 50 : 10_000));
  }
  return idle;
}
