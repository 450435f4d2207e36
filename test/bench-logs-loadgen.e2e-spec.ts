// The log stream generator's frame reader (bench/logs-loadgen.ts): it counts every bench entry of a
// `logs` frame and reads each send time without parsing the frame, grouping the entries of a request.
import { eachSentAt, type EntriesSink } from '../bench/logs-loadgen';

const PADDING = 'x'.repeat(100);

function logsFrame(messages: string[]): Buffer {
  const payload = messages.map((message, i) => ({ id: `e${i}`, level: 'info', message, timestamp: 1 }));
  return Buffer.from(JSON.stringify({ type: 'logs', payload }));
}

function read(frame: Buffer, padding: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  const sink: EntriesSink = (sentAt, entries, receivedAt) => {
    expect(receivedAt).toBe(42);
    runs.push([sentAt, entries]);
  };
  eachSentAt(frame, padding, 42, sink);
  return runs;
}

describe('log stream generator: reading send times in place', () => {
  it('groups the entries of one send time and keeps the others apart, in order', () => {
    const frame = logsFrame([
      `t=1733.125;${PADDING}`,
      `t=1733.125;${PADDING}`,
      `t=1733.125;${PADDING}`,
      `t=1734.500;${PADDING}`,
      `t=1733.125;${PADDING}`,
    ]);
    expect(read(frame, PADDING.length)).toEqual([
      [1733.125, 3],
      [1734.5, 1],
      [1733.125, 1],
    ]);
  });

  it('reads the same entries when the padding is not skipped, or is shorter than announced', () => {
    const messages = [`t=10.001;${PADDING}`, `t=10.002;xx`, `t=10.002;${PADDING}`, `t=99;`];
    const frame = logsFrame(messages);
    const expected = [
      [10.001, 1],
      [10.002, 2],
      [99, 1],
    ];
    expect(read(frame, 0)).toEqual(expected);
    expect(read(frame, PADDING.length)).toEqual(expected);
  });

  it('matches Number() on the digits, and ignores a frame without bench entries', () => {
    const times = [0, 1.5, 123456789.123, 1765000000123.456];
    const frame = logsFrame(times.map((t) => `t=${t.toFixed(3)};`));
    expect(read(frame, 0).map(([sentAt]) => sentAt)).toEqual(times.map((t) => Number(t.toFixed(3))));
    expect(read(Buffer.from('{"type":"metrics","payload":{}}'), 100)).toEqual([]);
  });

  it('finds every entry when their lengths change within a frame, and skips a message without a send time', () => {
    const frame = logsFrame([
      `t=1.000;${PADDING}`,
      `t=1.000;${PADDING}`,
      `t=2.000;${PADDING}xxxxxxxxxxxx`,
      `t=2.000;${PADDING}`,
      `t=abc;${PADDING}`,
      `t=3.000;x`,
      `t=3.000;${PADDING}`,
    ]);
    expect(read(frame, PADDING.length)).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
  });
});
