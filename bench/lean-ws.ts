// Lean room members for the capacity ramps and the connections group: a WebSocket client written
// for the load generator alone, on a plain TCP socket. It reads the frames of a known server
// (unfragmented, uncompressed text) by their headers and hands over the payload's bounds, without the
// `ws` client's per-frame stream, events and copies, so that one generator core receives faster than
// one server core sends. With `ws` or socket.io-client members the ramps of bare servers ended with
// the generator at its core's limit (docs/performance.md, "Capacity as a ratio"), and the connections
// group measured its own generators' handshakes. Not a general client: it answers pings (ws ping
// frames, engine.io "2") and joins the benchmark room, nothing else; loopback servers only.
import { randomBytes } from 'crypto';
import { connect, type Socket } from 'net';
import { BENCH_ROOM } from './bench-protocol';

/** Called with the buffer holding a text frame's payload and its bounds (no copy is made). */
export type TextFrameSink = (buffer: Buffer, start: number, end: number) => void;
type FramePredicate = (buffer: Buffer, start: number, end: number) => boolean;

const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const OPCODE_PONG = 0xa;

/** A client frame: FIN, the opcode, masked with a fresh key (RFC 6455 requires clients to mask). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(2 + extended + 4 + length);
  frame[0] = 0x80 | opcode;
  if (extended === 0) frame[1] = 0x80 | length;
  else if (extended === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const maskAt = 2 + extended;
  randomBytes(4).copy(frame, maskAt);
  for (let i = 0; i < length; i += 1) frame[maskAt + 4 + i] = payload[i]! ^ frame[maskAt + (i & 3)]!;
  return frame;
}

/** A member connection: text frames go to `onText` until `close()`. */
export class LeanWs {
  /** Bytes of an incomplete frame, kept until the rest arrives. */
  private pending: Buffer | null = null;
  private closed = false;
  /** Where text frames go; until `listen` is first called they wait in `early` (copied). */
  private onText: TextFrameSink | null = null;
  private early: Buffer[] = [];
  /** The pending `waitFor`'s rejection, called if the connection ends first. */
  private abandon: ((error: Error) => void) | null = null;
  /** Answer engine.io pings ("2") with pongs ("3") whatever the sink (Socket.IO members). */
  answerEnginePings = false;
  /**
   * Called once if the server ends the connection (a close frame, or the socket closing), never after
   * `close()`. Without it, one stderr line per process says so.
   */
  onEnd: ((reason: string) => void) | null = null;
  /** Why the server ended the connection, if it did (also before `onEnd` was set). */
  endReason: string | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('close', () => {
      this.abandon?.(new Error('lean member: the server closed the connection'));
      // A member the server dropped misses deliveries: the step then fails, and this says why.
      this.ended('lean member: a connection was closed by the server during the run');
    });
  }

  /**
   * Connects and upgrades; `path` includes the query string. Rejects unless the server answers 101.
   * Frames that come with the answer (engine.io's open packet does) wait for the first `listen`.
   */
  static open(port: number, path: string, localAddress?: string): Promise<LeanWs> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
      socket.setNoDelay(true);
      const key = randomBytes(16).toString('base64');
      let head: Buffer = Buffer.alloc(0);
      const fail = (error: Error): void => {
        socket.off('close', closedEarly);
        socket.destroy();
        reject(error);
      };
      const closedEarly = (): void => fail(new Error('lean member: closed before the upgrade answer'));
      const onHead = (chunk: Buffer): void => {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > 16_384) fail(new Error('upgrade answer too long'));
          return;
        }
        socket.off('data', onHead);
        socket.off('error', fail);
        socket.off('close', closedEarly);
        const status = head.toString('latin1', 0, head.indexOf('\r\n'));
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          fail(new Error(`upgrade refused: ${status}`));
          return;
        }
        const client = new LeanWs(socket);
        socket.on('data', (data: Buffer) => client.read(data));
        socket.on('error', () => socket.destroy());
        if (end + 4 < head.length) client.read(head.subarray(end + 4));
        resolve(client);
      };
      socket.on('data', onHead);
      socket.once('error', fail);
      socket.once('close', closedEarly);
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
  }

  sendText(text: string): void {
    if (!this.closed) this.socket.write(clientFrame(OPCODE_TEXT, Buffer.from(text, 'utf8')));
  }

  /** From now on, text frames go to `sink` (e.g. once joined); those that waited first. */
  listen(sink: TextFrameSink): void {
    this.onText = sink;
    // Stops if the sink hands over meanwhile (a `waitFor` that got its frame): the rest stays queued.
    while (this.early.length > 0 && this.onText === sink) {
      const frame = this.early.shift()!;
      sink(frame, 0, frame.length);
    }
  }

  /**
   * Resolves at the first text frame that `done` accepts (frames before it are skipped); the frames
   * after it wait in the queue for the next `listen` or `waitFor`, so none is lost between two
   * awaits. Rejects after 30 s or when the connection ends, closing it.
   */
  waitFor(done: FramePredicate, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error: Error | null): void => {
        clearTimeout(timer);
        this.abandon = null;
        this.onText = null;
        if (error === null) resolve();
        else {
          this.close();
          reject(error);
        }
      };
      const timer = setTimeout(() => settle(new Error(`lean member: no ${what} within 30 s`)), 30_000);
      if (this.closed) {
        settle(new Error(`lean member: closed before ${what}`));
        return;
      }
      this.abandon = (error) => settle(error);
      this.listen((buffer, start, end) => {
        if (this.abandon !== null && done(buffer, start, end)) settle(null);
      });
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Closed, by the server or by `close()`. */
  get isClosed(): boolean {
    return this.closed;
  }

  private ended(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.endReason = reason;
    if (this.onEnd !== null) this.onEnd(reason);
    else warnOnce(reason);
  }

  /** Splits the bytes into frames; the server's frames are unmasked, so payloads are read in place. */
  private read(chunk: Buffer): void {
    let buffer = chunk;
    if (this.pending !== null) {
      buffer = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    let at = 0;
    while (buffer.length - at >= 2) {
      const first = buffer[at]!;
      const lengthByte = buffer[at + 1]! & 0x7f;
      let headerLength = 2;
      let length = lengthByte;
      if (lengthByte === 126) {
        if (buffer.length - at < 4) break;
        length = buffer.readUInt16BE(at + 2);
        headerLength = 4;
      } else if (lengthByte === 127) {
        if (buffer.length - at < 10) break;
        length = Number(buffer.readBigUInt64BE(at + 2));
        headerLength = 10;
      }
      const start = at + headerLength;
      const end = start + length;
      if (end > buffer.length) break;
      // Our servers never fragment nor compress (no extension is offered): anything else is a bug.
      if ((first & 0x80) === 0 || (first & 0x70) !== 0) {
        this.close();
        throw new Error('lean member: fragmented or compressed frame');
      }
      const opcode = first & 0x0f;
      if (opcode === OPCODE_TEXT && this.answerEnginePings && end - start === 1 && buffer[start] === 0x32) {
        // An engine ping ("2") is answered with a pong ("3"); Socket.IO's heartbeat runs inside frames.
        this.sendText('3');
      } else if (opcode === OPCODE_TEXT) {
        if (this.onText !== null) this.onText(buffer, start, end);
        else this.early.push(Buffer.from(buffer.subarray(start, end)));
      } else if (opcode === OPCODE_PING)
        this.socket.write(clientFrame(OPCODE_PONG, buffer.subarray(start, end)));
      else if (opcode === OPCODE_CLOSE) {
        const code = end - start >= 2 ? buffer.readUInt16BE(start) : 1005;
        this.ended(`lean member: the server closed a connection with ${code} during the run`);
        this.close();
        return;
      }
      at = end;
    }
    if (at < buffer.length) this.pending = buffer.subarray(at);
  }
}

/** Whether a payload starts with the given ASCII text. */
export function startsWith(buffer: Buffer, start: number, end: number, prefix: string): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i += 1) if (buffer[start + i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** A rooms-protocol member of the benchmark room (`/ws/chat`), joined before it resolves. */
export async function leanRoomMember(
  port: number,
  token: string | undefined,
  onText: TextFrameSink,
): Promise<LeanWs> {
  const client = await LeanWs.open(port, token ? `/ws/chat?token=${token}` : '/ws/chat');
  const joined = client.waitFor(
    (buffer, start, end) => buffer.subarray(start, end).includes('"join_room_ack"'),
    'join_room_ack',
  );
  client.sendText(JSON.stringify({ type: 'join_room', data: { room: BENCH_ROOM } }));
  await joined;
  client.listen(onText);
  return client;
}

/**
 * A Socket.IO member (engine.io 4 over a websocket, the default parser): connects to the main
 * namespace with `auth.token`, joins the room with an acknowledged `join`, answers engine pings.
 */
export async function leanIoMember(
  port: number,
  token: string | undefined,
  onText: TextFrameSink,
): Promise<LeanWs> {
  const client = await leanIoConnect(port, token);
  const joined = client.waitFor((buffer, start, end) => startsWith(buffer, start, end, '430'), 'join ack');
  client.sendText(`420${JSON.stringify(['join', { roomId: BENCH_ROOM }])}`);
  await joined;
  client.listen(onText);
  return client;
}

/**
 * A Socket.IO connection (engine.io 4 over a websocket) to the main namespace with `auth.token`,
 * answering engine pings; resolves once the namespace accepted it, rejects on its refusal.
 */
export async function leanIoConnect(
  port: number,
  token: string | undefined,
  localAddress?: string,
): Promise<LeanWs> {
  const client = await LeanWs.open(port, '/socket.io/?EIO=4&transport=websocket', localAddress);
  client.answerEnginePings = true;
  await client.waitFor((buffer, start, end) => startsWith(buffer, start, end, '0'), 'engine open');
  const refusal: { text: string | null } = { text: null };
  const connected = client.waitFor((buffer, start, end) => {
    if (startsWith(buffer, start, end, '44')) refusal.text = buffer.toString('utf8', start, end);
    return startsWith(buffer, start, end, '40') || refusal.text !== null;
  }, 'namespace connect');
  client.sendText(`40${JSON.stringify(token ? { token } : {})}`);
  await connected;
  if (refusal.text !== null) {
    client.close();
    throw new Error(`lean member refused: ${refusal.text}`);
  }
  return client;
}

const warned = new Set<string>();

/** One stderr line per distinct warning and process. */
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.error(message);
}
