// A Nest LoggerService that streams the host's own logs under its appId, and passes them on to
// another logger (the console by default). Install it with:
//   app.useLogger(new RealtimeLogger(app.get(LogStreamService), { appId: 'my-app' }));
import { ConsoleLogger, type LoggerService, type LogLevel } from '@nestjs/common';
import { SYSTEM_USER_ID, type LogStreamService } from './log-stream.service';

export interface RealtimeLoggerOptions {
  /** The app whose stream clients receive these logs. */
  appId: string;
  /** userId of the entries. @default 'system' */
  userId?: string;
  /** Also written to this logger; false writes nowhere else. @default new ConsoleLogger() */
  delegate?: LoggerService | false;
  /** Nest levels streamed. @default ['log', 'error', 'warn', 'fatal'] */
  levels?: LogLevel[];
}

/** Nest's `log` is the stream's `info`; the other level names are kept. */
const STREAM_LEVEL: Record<LogLevel, string> = {
  log: 'info',
  error: 'error',
  warn: 'warn',
  debug: 'debug',
  verbose: 'verbose',
  fatal: 'fatal',
};

export class RealtimeLogger implements LoggerService {
  private readonly delegate: LoggerService | null;
  private levels: Set<LogLevel>;
  /** A publish() that logs must not publish again. */
  private writing = false;

  constructor(
    private readonly stream: LogStreamService,
    private readonly options: RealtimeLoggerOptions,
  ) {
    this.delegate = options.delegate === false ? null : (options.delegate ?? new ConsoleLogger());
    this.levels = new Set(options.levels ?? ['log', 'error', 'warn', 'fatal']);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
    this.delegate?.log(message, ...params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
    this.delegate?.error(message, ...params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
    this.delegate?.warn(message, ...params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
    this.delegate?.debug?.(message, ...params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
    this.delegate?.verbose?.(message, ...params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
    this.delegate?.fatal?.(message, ...params);
  }

  setLogLevels(levels: LogLevel[]): void {
    this.levels = new Set(levels);
    this.delegate?.setLogLevels?.(levels);
  }

  private write(level: LogLevel, message: unknown, params: unknown[]): void {
    if (!this.levels.has(level) || this.writing) return;
    this.writing = true;
    try {
      // Nest appends the context as the last string; `error` passes the stack before it.
      const rest = [...params];
      const metadata: Record<string, unknown> = {};
      if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') metadata.context = rest.pop();
      if (level === 'error' && typeof rest[0] === 'string') metadata.stack = rest.shift();
      if (message instanceof Error && metadata.stack === undefined) metadata.stack = message.stack;
      if (rest.length > 0) metadata.params = rest;
      this.stream.publish(this.options.appId, {
        level: STREAM_LEVEL[level],
        message: describe(message),
        ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
        userId: this.options.userId ?? SYSTEM_USER_ID,
      });
    } catch (error) {
      // A line that cannot be streamed (e.g. unserialisable params) still reaches the delegate, with why.
      const reason = error instanceof Error ? error.message : String(error);
      this.delegate?.warn(`Log line not streamed: ${reason}`, 'RealtimeLogger');
    } finally {
      this.writing = false;
    }
  }
}

function describe(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return message.message;
  try {
    return JSON.stringify(message) ?? String(message);
  } catch {
    return String(message);
  }
}
