// Type-level contract of the SDK's event maps: a wrong event name or payload is a compile error
// (tsc checks every `@ts-expect-error` below: an error that disappears fails the type check).
import type { ChatMessage, ModuleAddedPayload, RoomMessagePayload } from 'nest-realtime/protocol';
import { fakeWebSocketClass } from './websocket/fake-websocket.helper-spec';
import { ChatClient, LogStreamClient, RealtimeEventsClient, RoomsClient } from './index';

describe('typed event maps', () => {
  const { WebSocket } = fakeWebSocketClass();
  const options = { url: 'http://127.0.0.1:1', token: 't', webSocket: WebSocket };

  it('accepts the protocol event names with their payload types, and refuses others at compile time', () => {
    const rooms = new RoomsClient(options);
    const seen: string[] = [];
    rooms.on('room_message', (message: RoomMessagePayload) => seen.push(message.content));
    // @ts-expect-error misspelt event name
    rooms.on('room_mesage', () => undefined);
    // @ts-expect-error wrong payload: a room message has no `message` field
    rooms.on('room_message', (message) => seen.push(message.message));
    // @ts-expect-error sendRoomMessage takes a string content
    void rooms.sendRoomMessage('general', 42).catch(() => undefined);

    const chat = new ChatClient({ url: 'http://127.0.0.1:1', token: 't' });
    chat.on('message', (message: ChatMessage) => seen.push(message.message));
    // @ts-expect-error the seed 001 event is `userTyping`, not `typing`
    chat.on('typing', () => undefined);

    const events = new RealtimeEventsClient({ url: 'http://127.0.0.1:1', token: 't' });
    events.on('rt_module_added', (payload: ModuleAddedPayload) => seen.push(payload.moduleId));
    // @ts-expect-error no such seed 002 event
    events.on('rt_module_created', () => undefined);
    // @ts-expect-error rt_user_logged_in carries { id, name, email, isAdmin }, not moduleId
    events.on('rt_user_logged_in', (payload) => seen.push(payload.moduleId));

    const stream = new LogStreamClient(options);
    stream.on('logs', (entries) => seen.push(...entries.map((e) => e.message)));
    // @ts-expect-error `logs` delivers an array of entries
    stream.on('logs', (entry) => seen.push(entry.message));

    expect(seen).toEqual([]);
    expect(rooms.state).toBe('CREATED');
    for (const client of [rooms, chat, events, stream]) client.close();
    expect(rooms.state).toBe('CLOSED');
  });
});
