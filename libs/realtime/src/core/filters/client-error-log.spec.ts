// The per-connection budget of error lines: its share, one suppression line, the count of what was
// suppressed when the next window opens, and connections that do not share a budget.
import { CLIENT_ERROR_LOG_LIMIT, logClientError } from './client-error-log';

class RecordingLogger {
  readonly lines: Array<{ level: 'error' | 'warn'; message: string; trace?: string }> = [];
  error(message: string, trace?: string): void {
    this.lines.push({ level: 'error', message, trace });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
}

describe('logClientError', () => {
  const { lines: LIMIT, windowMs: WINDOW_MS } = CLIENT_ERROR_LOG_LIMIT;

  beforeEach(() => jest.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => jest.useRealTimers());

  it(`writes ${LIMIT} error lines per connection per window, then one line saying the rest are suppressed`, () => {
    const logger = new RecordingLogger();
    const connection = { id: 'c1' };
    for (let index = 0; index < 500; index += 1)
      logClientError(logger, connection, `failure ${index}`, 'stack');
    expect(logger.lines.filter((line) => line.level === 'error')).toHaveLength(LIMIT);
    expect(logger.lines[0]).toEqual({ level: 'error', message: 'failure 0', trace: 'stack' });
    expect(logger.lines.slice(LIMIT)).toEqual([
      {
        level: 'warn',
        message: `More than ${LIMIT} error lines from connection c1 within ${WINDOW_MS / 1000} s: further errors of this connection suppressed for ${WINDOW_MS / 1000} s`,
      },
    ]);
  });

  it('opens a new window after the last one, first counting what was suppressed', () => {
    const logger = new RecordingLogger();
    const connection = { id: 'c2' };
    for (let index = 0; index < LIMIT + 5; index += 1) logClientError(logger, connection, 'first window');
    jest.advanceTimersByTime(WINDOW_MS - 1);
    logClientError(logger, connection, 'still the first window');
    expect(logger.lines).toHaveLength(LIMIT + 1);
    jest.advanceTimersByTime(1);
    logClientError(logger, connection, 'second window');
    expect(logger.lines.slice(LIMIT + 1)).toEqual([
      { level: 'warn', message: '6 error line(s) of connection c2 were suppressed in the last window' },
      { level: 'error', message: 'second window', trace: undefined },
    ]);
  });

  it('gives every connection its own budget', () => {
    const logger = new RecordingLogger();
    const noisy = { id: 'noisy' };
    for (let index = 0; index < 100; index += 1) logClientError(logger, noisy, 'noisy');
    logClientError(logger, { id: 'quiet' }, 'quiet failure');
    expect(logger.lines.at(-1)).toEqual({ level: 'error', message: 'quiet failure', trace: undefined });
  });
});
