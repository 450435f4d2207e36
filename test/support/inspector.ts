// Reads a child process's heap from outside, through the V8 inspector it opens with
// `NODE_OPTIONS=--inspect=127.0.0.1:PORT`: a full garbage collection, then process.memoryUsage().
// For figures only (the soak's heap after warm-up against heap at the end); no production code needed.
import WebSocket from 'ws';

export interface HeapFigures {
  heapUsed: number;
  rss: number;
}

interface InspectorTarget {
  webSocketDebuggerUrl: string;
}

interface InspectorReply {
  id: number;
  result?: { result?: { value?: string } };
  error?: { message: string };
}

/** Collects garbage in the process listening for the inspector on `port`, then reads its memory. */
export async function heapAfterGc(port: number): Promise<HeapFigures> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as InspectorTarget[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target on port ${port}`);
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<InspectorReply>((resolve, reject) => {
      const id = ++nextId;
      const onMessage = (data: Buffer) => {
        const reply = JSON.parse(data.toString('utf8')) as InspectorReply;
        if (reply.id !== id) return;
        socket.off('message', onMessage);
        if (reply.error) reject(new Error(`${method}: ${reply.error.message}`));
        else resolve(reply);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await call('HeapProfiler.enable');
    await call('HeapProfiler.collectGarbage');
    const reply = await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const value = reply.result?.result?.value;
    if (typeof value !== 'string') throw new Error('the inspector returned no memory figures');
    const usage = JSON.parse(value) as HeapFigures;
    return { heapUsed: usage.heapUsed, rss: usage.rss };
  } finally {
    socket.close();
  }
}
