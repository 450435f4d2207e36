// RealtimeLogger: Nest's logger calls become stream entries of the host's app, and still reach the delegate.
import type { LoggerService } from '@nestjs/common';
import type { LogEntryInput } from '../protocol';
import type { LogStreamService } from './log-stream.service';
import { RealtimeLogger } from './realtime-logger.service';

function setup(options: Partial<ConstructorParameters<typeof RealtimeLogger>[1]> = {}) {
  const published: Array<{ appId: string; entry: LogEntryInput }> = [];
  const stream = {
    publish: jest.fn((appId: string, entry: LogEntryInput) => {
      published.push({ appId, entry });
      return [];
    }),
  };
  const delegate: jest.Mocked<
    Required<Pick<LoggerService, 'log' | 'error' | 'warn' | 'debug' | 'setLogLevels'>>
  > = {
    log: jest.fn(),
    error: jest.fn(),
    warn: jest.fn(),
    debug: jest.fn(),
    setLogLevels: jest.fn(),
  };
  const logger = new RealtimeLogger(stream as unknown as LogStreamService, {
    appId: 'host',
    delegate,
    ...options,
  });
  return { logger, stream, delegate, published };
}

describe('RealtimeLogger', () => {
  it('streams log as info with the context, and passes the call on to the delegate', () => {
    const { logger, delegate, published } = setup();
    logger.log('server started', 'Bootstrap');
    expect(published).toEqual([
      {
        appId: 'host',
        entry: {
          level: 'info',
          message: 'server started',
          metadata: { context: 'Bootstrap' },
          userId: 'system',
        },
      },
    ]);
    expect(delegate.log).toHaveBeenCalledWith('server started', 'Bootstrap');
  });

  it('keeps the stack of error(message, stack, context)', () => {
    const { logger, published } = setup({ userId: 'ops' });
    logger.error('failed', 'Error: failed\n    at x()', 'Jobs');
    expect(published[0]?.entry).toEqual({
      level: 'error',
      message: 'failed',
      metadata: { context: 'Jobs', stack: 'Error: failed\n    at x()' },
      userId: 'ops',
    });
  });

  it('describes an Error or an object message', () => {
    const { logger, published } = setup();
    const error = new Error('broken');
    logger.error(error);
    logger.warn({ queue: 'mail', size: 3 });
    expect(published[0]?.entry).toMatchObject({ message: 'broken', metadata: { stack: error.stack } });
    expect(published[1]?.entry).toMatchObject({ level: 'warn', message: '{"queue":"mail","size":3}' });
    expect(published[1]?.entry).not.toHaveProperty('metadata');
  });

  it('streams only the configured levels (log, error, warn, fatal by default), as setLogLevels changes them', () => {
    const { logger, delegate, published } = setup();
    logger.debug('noise');
    expect(published).toEqual([]);
    expect(delegate.debug).toHaveBeenCalledWith('noise');
    logger.setLogLevels(['debug']);
    logger.debug('now streamed');
    logger.log('now not');
    expect(published.map((p) => p.entry.message)).toEqual(['now streamed']);
    expect(delegate.setLogLevels).toHaveBeenCalledWith(['debug']);
  });

  it('does not stream again what is logged while publishing', () => {
    const { logger, stream, published } = setup();
    stream.publish.mockImplementationOnce((appId: string, entry: LogEntryInput) => {
      published.push({ appId, entry });
      logger.warn('logged from inside publish');
      return [];
    });
    logger.log('outer');
    expect(published.map((p) => p.entry.message)).toEqual(['outer']);
  });

  it('tells the delegate when a line cannot be streamed, without throwing', () => {
    const { logger, stream, delegate } = setup();
    stream.publish.mockImplementationOnce(() => {
      throw new Error('entry.metadata must be JSON-serialisable');
    });
    expect(() => logger.log('x', 1n, 'Ctx')).not.toThrow();
    expect(delegate.warn).toHaveBeenCalledWith(
      'Log line not streamed: entry.metadata must be JSON-serialisable',
      'RealtimeLogger',
    );
    expect(delegate.log).toHaveBeenCalledWith('x', 1n, 'Ctx');
  });
});
