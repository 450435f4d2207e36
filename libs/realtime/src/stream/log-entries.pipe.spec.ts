// The body pipe of log ingestion: entries of known fields take the DTO's compiled check, any other
// the full class-validator path; both give the same DTOs, and refusals keep their fields and codes.
import { BadRequestException, PayloadTooLargeException } from '@nestjs/common';
import { compileDtoCheck } from '../core/compiled-dto-check';
import { resolveRealtimeOptions } from '../realtime.options';
import { LogEntryDto } from './dto/log-entry.dto';
import { LogEntriesPipe } from './log-entries.pipe';

const options = resolveRealtimeOptions({
  auth: { secret: 'unit-test-secret-of-32-characters' },
  stream: { maxEntriesPerRequest: 3 },
});

/** The response body of the exception the pipe throws for `body`. */
function refusal(pipe: LogEntriesPipe, body: unknown): { status: number; body: Record<string, unknown> } {
  try {
    pipe.transform(body);
  } catch (error) {
    if (error instanceof BadRequestException || error instanceof PayloadTooLargeException) {
      return { status: error.getStatus(), body: error.getResponse() as Record<string, unknown> };
    }
    throw error;
  }
  throw new Error('the body was accepted');
}

describe('LogEntriesPipe', () => {
  const pipe = new LogEntriesPipe(options);

  it('compiles the DTO: every rule of LogEntryDto is one the compiled check reproduces', () => {
    expect(compileDtoCheck(LogEntryDto)).not.toBeNull();
  });

  it('accepts one entry or an array, as LogEntryDto instances with the fields given', () => {
    const [single] = pipe.transform({ level: 'info', message: 'hello', timestamp: 42 });
    expect(single).toBeInstanceOf(LogEntryDto);
    expect({ ...single }).toEqual({ level: 'info', message: 'hello', timestamp: 42 });

    const entries = pipe.transform([
      { level: 'warn', message: 'a' },
      // An object as metadata takes the full path (class-transformer copies it).
      { level: 'error', message: 'b', metadata: { nested: { n: 1 }, list: [1, 2] } },
      { level: 'debug', message: 'c', metadata: 'text' },
    ]);
    expect(entries.every((entry) => entry instanceof LogEntryDto)).toBe(true);
    expect(entries.map((entry) => ({ ...entry }))).toEqual([
      { level: 'warn', message: 'a' },
      { level: 'error', message: 'b', metadata: { nested: { n: 1 }, list: [1, 2] } },
      { level: 'debug', message: 'c', metadata: 'text' },
    ]);
  });

  it('refuses a key that is not a field (the user id is the token’s), naming it', () => {
    const { status, body } = refusal(pipe, [
      { level: 'info', message: 'ok' },
      { level: 'info', message: 'x', userId: 'someone' },
    ]);
    expect(status).toBe(400);
    expect(body).toMatchObject({ statusCode: 400, code: 'INVALID_FORMAT' });
    expect((body.fields as Array<{ field: string }>).map((f) => f.field)).toEqual(['[1].userId']);
  });

  it('answers every field error of every entry, whichever path each entry took', () => {
    const { body } = refusal(pipe, [
      { level: 'not a word', message: 'x' },
      { level: 'info', message: 7 },
      { level: 'info', message: 'x', timestamp: -1 },
    ]);
    expect((body.fields as Array<{ field: string }>).map((f) => f.field)).toEqual([
      '[0].level',
      '[1].message',
      '[2].timestamp',
    ]);
  });

  it('answers 413 past stream.maxEntriesPerRequest, and 400 for none', () => {
    const entry = { level: 'info', message: 'x' };
    expect(refusal(pipe, [entry, entry, entry, entry])).toMatchObject({ status: 413 });
    expect(refusal(pipe, [])).toMatchObject({ status: 400, body: { code: 'INVALID_FORMAT' } });
  });
});
