// RawWsDispatcher: one dispatch table per endpoint, shared by its connections, which keep only Nest's
// handlers bound to them and, while frames are being handled, their queue (none once idle).
import { Logger } from '@nestjs/common';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { recordingConnection } from '../../rooms/recording-connection.helper-spec';
import type { FrameRoute } from './direct-frame-route';
import type { RawWsConnection } from './raw-ws-connection';
import { RawWsDispatcher } from './raw-ws-dispatcher';
import type { ShutdownGate } from './shutdown-coordinator';

const gate: ShutdownGate = { draining: false, admit: () => true, settled: () => undefined };
const noRoutes: ReadonlyMap<string, FrameRoute> = new Map();

/** Nest's handler list for one connection: each handler records the connection it is bound to. */
function handlersOf(connection: RawWsConnection, calls: Array<[RawWsConnection, string, unknown]>) {
  return ['join_room', 'ping'].map((message): MessageMappingProperties => ({
    message,
    methodName: message,
    isAckHandledManually: false,
    callback: (data: unknown) => {
      calls.push([connection, message, data]);
      return Promise.resolve({ event: `${message}_ack`, data: {} });
    },
  }));
}

async function settle(connection: RawWsConnection): Promise<void> {
  while (connection.frameQueue !== null) await connection.frameQueue;
}

describe('RawWsDispatcher', () => {
  const dispatcher = new RawWsDispatcher(new Logger('spec'));

  it("answers each connection's frames with its own bound handler, from one shared table", async () => {
    const calls: Array<[RawWsConnection, string, unknown]> = [];
    const a = recordingConnection();
    const b = recordingConnection();
    dispatcher.bind(a.connection, handlersOf(a.connection, calls), noRoutes, gate);
    dispatcher.bind(b.connection, handlersOf(b.connection, calls), noRoutes, gate);
    expect(a.connection.dispatch).not.toBeNull();
    expect(b.connection.dispatch).toBe(a.connection.dispatch);

    const frame = (type: string) => Buffer.from(JSON.stringify({ type, data: { room: 'general' } }));
    b.connection.dispatch?.received(b.connection, frame('ping'), false);
    a.connection.dispatch?.received(a.connection, frame('join_room'), false);
    a.connection.dispatch?.received(a.connection, frame('nope'), false);
    expect(a.connection.pendingFrames).toBe(2);
    await settle(a.connection);
    await settle(b.connection);

    expect(calls).toEqual([
      [b.connection, 'ping', { room: 'general' }],
      [a.connection, 'join_room', { room: 'general' }],
    ]);
    expect(a.sent[0]).toContain('"join_room_ack"');
    expect(a.sent[1]).toContain('Unknown message type');
    expect(b.sent).toHaveLength(1);
    // Idle again: no promise kept.
    expect(a.connection.frameQueue).toBeNull();
    expect(a.connection.pendingFrames).toBe(0);
  });

  it('builds another table for a different handler list', () => {
    const calls: Array<[RawWsConnection, string, unknown]> = [];
    const a = recordingConnection();
    const b = recordingConnection();
    dispatcher.bind(a.connection, handlersOf(a.connection, calls), noRoutes, gate);
    dispatcher.bind(b.connection, handlersOf(b.connection, calls).slice(1), noRoutes, gate);
    expect(b.connection.dispatch).not.toBe(a.connection.dispatch);
  });

  it("calls the endpoint's shared handlers with the connection, keeping none on the connection", async () => {
    const calls: Array<[unknown, unknown, unknown]> = [];
    const shared = ['join_room', 'ping'].map((message) => (client: unknown, data: unknown, type: unknown) => {
      calls.push([client, type, data]);
      return Promise.resolve({ event: `${message}_shared`, data: {} });
    });
    const routes: ReadonlyMap<string, FrameRoute> = new Map();
    const a = recordingConnection();
    const b = recordingConnection();
    let asked = 0;
    const table = () => {
      asked += 1;
      return shared;
    };
    dispatcher.bind(a.connection, handlersOf(a.connection, []), routes, gate, table);
    dispatcher.bind(b.connection, handlersOf(b.connection, []), routes, gate, table);
    // Asked once, when the endpoint's dispatch is made.
    expect(asked).toBe(1);
    expect(a.connection.handlers).toHaveLength(0);
    expect(b.connection.handlers).toHaveLength(0);

    const frame = (type: string) => Buffer.from(JSON.stringify({ type, data: { n: 1 } }));
    a.connection.dispatch?.received(a.connection, frame('ping'), false);
    b.connection.dispatch?.received(b.connection, frame('join_room'), false);
    b.connection.dispatch?.received(b.connection, frame('nope'), false);
    await settle(a.connection);
    await settle(b.connection);
    expect(calls).toEqual([
      [a.connection, 'ping', { n: 1 }],
      [b.connection, 'join_room', { n: 1 }],
    ]);
    expect(a.sent[0]).toContain('"ping_shared"');
    expect(b.sent[0]).toContain('"join_room_shared"');
    expect(b.sent[1]).toContain('Unknown message type');
  });

  it('keeps the handlers Nest bound to each connection where the endpoint has no shared ones', () => {
    const routes: ReadonlyMap<string, FrameRoute> = new Map();
    const a = recordingConnection();
    dispatcher.bind(a.connection, handlersOf(a.connection, []), routes, gate, () => null);
    expect(a.connection.handlers).toHaveLength(2);
  });
});
