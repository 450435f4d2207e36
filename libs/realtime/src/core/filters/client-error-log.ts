// Error lines caused by one client, rate-limited per connection: a client that keeps sending what
// makes a handler fail cannot make the server write unbounded error lines (each with its stack). Every
// path that logs an unexpected error of a connection's request goes through `logClientError`; the
// budget is kept on the connection object itself, so the filters and the adapter share it and it goes
// with the connection.
import type { LoggerService } from '@nestjs/common';

/**
 * Error lines written per connection per window; then one line says the rest are suppressed, and the
 * first line of the next window counts what was. Ten stacks a minute still show a bug that a client
 * keeps hitting; at most twelve lines a minute per connection reach the log.
 */
export const CLIENT_ERROR_LOG_LIMIT = Object.freeze({ lines: 10, windowMs: 60_000 });

const WINDOW = Symbol('realtime.clientErrorLog');

interface ErrorLogWindow {
  startedAt: number;
  lines: number;
  suppressed: number;
}

/** A connection of any transport (a RawWsConnection, a Socket.IO socket). */
export interface LoggedConnection {
  readonly id: string;
}

type WithWindow = LoggedConnection & { [WINDOW]?: ErrorLogWindow };

/**
 * Writes `message` (with `trace`) at error level, unless `connection` has had its share of error lines
 * in the current window.
 */
export function logClientError(
  logger: Pick<LoggerService, 'error' | 'warn'>,
  connection: LoggedConnection,
  message: string,
  trace?: string,
): void {
  const { lines, windowMs } = CLIENT_ERROR_LOG_LIMIT;
  const now = Date.now();
  const tracked = connection as WithWindow;
  let window = tracked[WINDOW];
  if (window === undefined || now - window.startedAt >= windowMs) {
    if (window !== undefined && window.suppressed > 0) {
      logger.warn(
        `${window.suppressed} error line(s) of connection ${connection.id} were suppressed in the last window`,
      );
    }
    window = { startedAt: now, lines: 0, suppressed: 0 };
    tracked[WINDOW] = window;
  }
  if (window.lines < lines) {
    window.lines += 1;
    logger.error(message, trace);
    return;
  }
  if (window.suppressed === 0) {
    const seconds = Math.ceil((window.startedAt + windowMs - now) / 1000);
    logger.warn(
      `More than ${lines} error lines from connection ${connection.id} within ${windowMs / 1000} s: ` +
        `further errors of this connection suppressed for ${seconds} s`,
    );
  }
  window.suppressed += 1;
}
