// Outbound coalescing: frames queued for a connection within one event-loop turn leave as one
// message_batch; a lone frame leaves as is; nothing is re-serialised; every timer is cleared.
import type { Envelope } from '../protocol';
import { OutboundBatcher } from './outbound-batcher';
import { recordingConnection } from './recording-connection.helper-spec';

const frame = (n: number) => JSON.stringify({ type: 'room_message', data: { n }, timestamp: 't' });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('OutboundBatcher', () => {
  let batcher: OutboundBatcher;

  beforeEach(() => {
    batcher = new OutboundBatcher(5);
  });
  afterEach(() => {
    batcher.stop();
  });

  it('sends the frames of one turn as one message_batch, per connection', async () => {
    const a = recordingConnection();
    const b = recordingConnection();
    batcher.enqueue(a.connection, frame(1));
    batcher.enqueue(b.connection, frame(1));
    batcher.enqueue(a.connection, frame(2));
    batcher.enqueue(a.connection, frame(3));
    expect(a.sent).toEqual([]);
    await nextTurn();
    expect(a.sent).toHaveLength(1);
    const batch = JSON.parse(a.sent[0] ?? '') as Envelope<{ messages: Array<{ data: { n: number } }> }>;
    expect(batch.type).toBe('message_batch');
    expect(batch.data.messages.map((m) => m.data.n)).toEqual([1, 2, 3]);
    // b had one frame: sent unwrapped, the very string it was given.
    expect(b.sent).toEqual([frame(1)]);
  });

  it('flushes a full queue at once, without waiting for the turn to end', () => {
    const a = recordingConnection();
    for (let n = 1; n <= 5; n++) batcher.enqueue(a.connection, frame(n));
    expect(a.sent).toHaveLength(1);
    expect(batcher.queued).toBe(0);
  });

  it('refuses closed connections and forgets the frames of one that closed', async () => {
    const a = recordingConnection();
    a.socket.readyState = 3;
    expect(batcher.enqueue(a.connection, frame(1))).toBe(false);
    const b = recordingConnection();
    batcher.enqueue(b.connection, frame(1));
    batcher.forget(b.connection);
    await nextTurn();
    expect(b.sent).toEqual([]);
  });

  it('flushes on stop and then writes at once (no timer left behind)', () => {
    const a = recordingConnection();
    batcher.enqueue(a.connection, frame(1));
    batcher.enqueue(a.connection, frame(2));
    batcher.stop();
    expect(a.sent).toHaveLength(1);
    batcher.enqueue(a.connection, frame(3));
    expect(a.sent).toEqual([a.sent[0], frame(3)]);
    expect(batcher.queued).toBe(0);
  });
});
