// The defaults are written once (REALTIME_DEFAULTS): the resolver merges them, and the JSDoc
// `@default` tags of the options and the options reference (docs/options.md) must say the same values.
import { readFileSync } from 'fs';
import { join } from 'path';
import { REALTIME_DEFAULTS, resolveRealtimeOptions } from './realtime.options';

/** The fields of `database` whose defaults live in REALTIME_DEFAULTS.postgres (the others: .sqlite). */
const POSTGRES_FIELDS = ['schema', 'poolSize', 'connectTimeoutMs', 'queryTimeoutMs'];
const SOURCE = readFileSync(join(__dirname, 'realtime.options.ts'), 'utf8');
const DOCS = readFileSync(join(__dirname, '../../../docs/options.md'), 'utf8');

/** Where each options interface's defaults live in REALTIME_DEFAULTS. */
const SECTIONS: Record<string, string> = {
  RealtimeAuthOptions: 'auth',
  RealtimePathOptions: 'paths',
  RealtimeRateLimitOptions: 'limits.rateLimit',
  RealtimeLimitOptions: 'limits',
  RealtimeEventsOptions: 'events',
  RealtimeChatOptions: 'chat',
  RealtimeStreamOptions: 'stream',
  RealtimeCompressionOptions: 'compression',
  RealtimeRoomsOptions: 'rooms',
  RealtimeRedisOptions: 'redis',
};

function at(path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, key) => (value as Record<string, unknown> | undefined)?.[key],
      REALTIME_DEFAULTS,
    );
}

/** A default written as a literal (number, quoted string, boolean, null), else undefined. */
function literal(text: string): { value: unknown } | undefined {
  const t = text.trim();
  if (/^-?[\d_]+(\.\d+)?$/.test(t)) return { value: Number(t.replace(/_/g, '')) };
  if (/^'[^']*'$/.test(t)) return { value: t.slice(1, -1) };
  if (t === 'true' || t === 'false') return { value: t === 'true' };
  if (t === 'null') return { value: null };
  return undefined;
}

/** Every `@default <literal>` of a field, with the option path its interface maps to. */
function jsdocDefaults(): Array<{ option: string; value: unknown }> {
  const found: Array<{ option: string; value: unknown }> = [];
  for (const [name, section] of Object.entries(SECTIONS)) {
    const start = SOURCE.indexOf(`export interface ${name} {`);
    expect(start).toBeGreaterThanOrEqual(0);
    const body = SOURCE.slice(start, SOURCE.indexOf('\n}\n', start));
    for (const m of body.matchAll(/@default ([^*\n]+?)\s*\*\/\s*\n\s*(\w+)\??:/g)) {
      const parsed = literal(m[1] as string);
      if (parsed === undefined) continue;
      const field = m[2] as string;
      const nested = section === 'auth' && ['userId', 'username', 'roles', 'appId'].includes(field);
      found.push({ option: `${section}${nested ? '.claims' : ''}.${field}`, value: parsed.value });
    }
  }
  // The database union: its SQLite and PostgreSQL members.
  const database = SOURCE.slice(SOURCE.indexOf('export type RealtimeDatabaseOptions'));
  for (const m of database
    .slice(0, database.indexOf(';\n\n'))
    .matchAll(/@default ([^*\n]+?)\s*\*\/\s*\n\s*(\w+)\??:/g)) {
    const parsed = literal(m[1] as string);
    const field = m[2] as string;
    if (parsed !== undefined)
      found.push({
        option: `${POSTGRES_FIELDS.includes(field) ? 'postgres' : 'sqlite'}.${field}`,
        value: parsed.value,
      });
  }
  return found;
}

describe('option defaults', () => {
  it('are what the resolver gives when nothing is set', () => {
    const resolved = resolveRealtimeOptions({ auth: { secret: 'a-secret-of-32-characters-------' } });
    expect(resolved.paths).toEqual(REALTIME_DEFAULTS.paths);
    expect(resolved.limits).toEqual(REALTIME_DEFAULTS.limits);
    expect(resolved.events).toEqual(REALTIME_DEFAULTS.events);
    expect(resolved.chat).toEqual(REALTIME_DEFAULTS.chat);
    expect(resolved.compression).toEqual(REALTIME_DEFAULTS.compression);
    expect(resolved.database).toEqual(REALTIME_DEFAULTS.sqlite);
    expect(resolved.stream).toMatchObject(REALTIME_DEFAULTS.stream);
    expect(resolved.auth).toMatchObject(REALTIME_DEFAULTS.auth);
    expect(resolved.rooms.initial).toEqual(
      REALTIME_DEFAULTS.rooms.initial.map((room) => ({ ...room, isPrivate: false })),
    );
  });

  it('keep a default for a field given as undefined', () => {
    const resolved = resolveRealtimeOptions({
      auth: { secret: 'a-secret-of-32-characters-------' },
      limits: { rateLimit: { perMinute: undefined, perHour: 500 } },
    });
    expect(resolved.limits.rateLimit).toEqual({
      perMinute: REALTIME_DEFAULTS.limits.rateLimit.perMinute,
      perHour: 500,
    });
  });

  it('agree with the JSDoc @default of every option', () => {
    const tags = jsdocDefaults();
    expect(tags.length).toBeGreaterThan(40);
    for (const { option, value } of tags) expect({ option, value: at(option) }).toEqual({ option, value });
  });

  it('agree with the options reference (docs/options.md)', () => {
    let checked = 0;
    for (const m of DOCS.matchAll(/^\| `([a-zA-Z.]+)`(?: \([A-Za-z]+\))? \| `([^`|]+)` \|/gm)) {
      const [, option, text] = m as unknown as [string, string, string];
      const parsed = literal(/^[\d_]+$|^(true|false|null)$/.test(text) ? text : `'${text}'`);
      const path = option.startsWith('database.')
        ? `${POSTGRES_FIELDS.includes(option.slice(9)) ? 'postgres' : 'sqlite'}.${option.slice(9)}`
        : option;
      const expected = at(path);
      if (expected === undefined || typeof expected === 'object' || parsed === undefined) continue;
      expect({ option, value: parsed.value }).toEqual({ option, value: expected });
      checked += 1;
    }
    expect(checked).toBeGreaterThan(25);
  });
});
