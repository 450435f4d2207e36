// A host LoggerService that keeps every line the app logs (level, message, stack), for specs that
// assert what reaches the server's log: `app.useLogger(logger)`, then `app.useLogger(false)` to stop.
import type { LoggerService } from '@nestjs/common';

export interface CapturedLine {
  level: 'log' | 'debug' | 'verbose' | 'warn' | 'error' | 'fatal';
  message: string;
  /** The second argument of `error()` (Nest passes the stack there). */
  trace?: string;
}

export class CapturingLogger implements LoggerService {
  readonly lines: CapturedLine[] = [];

  log(message: unknown): void {
    this.push('log', message);
  }
  debug(message: unknown): void {
    this.push('debug', message);
  }
  verbose(message: unknown): void {
    this.push('verbose', message);
  }
  warn(message: unknown): void {
    this.push('warn', message);
  }
  error(message: unknown, trace?: unknown): void {
    this.push('error', message, trace);
  }
  fatal(message: unknown, trace?: unknown): void {
    this.push('fatal', message, trace);
  }

  /** Lines at error or fatal level. */
  errors(): CapturedLine[] {
    return this.lines.filter((line) => line.level === 'error' || line.level === 'fatal');
  }

  /** Lines at `level` whose message matches. */
  matching(level: CapturedLine['level'], pattern: RegExp): CapturedLine[] {
    return this.lines.filter((line) => line.level === level && pattern.test(line.message));
  }

  clear(): void {
    this.lines.length = 0;
  }

  private push(level: CapturedLine['level'], message: unknown, trace?: unknown): void {
    const line: CapturedLine = {
      level,
      message: message instanceof Error ? (message.stack ?? message.message) : String(message),
    };
    if (typeof trace === 'string') line.trace = trace;
    this.lines.push(line);
  }
}
