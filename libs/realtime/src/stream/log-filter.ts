// The client-side filter of `subscribe` (addition), compiled once per connection; its key groups
// subscribers with the same filter so that one serialised frame serves them all.
import type { LogEntry, LogFilter } from '../protocol';

export interface CompiledLogFilter {
  /** Equal for equal filters. */
  readonly key: string;
  /** The filter as now in force (normalised), as echoed in `subscribed`. */
  readonly effective: LogFilter;
  matches(entry: LogEntry): boolean;
}

/** Null when the filter lets everything through. */
export function compileLogFilter(filter: LogFilter): CompiledLogFilter | null {
  const levels = [...new Set((filter.levels ?? []).map((level) => level.toLowerCase()))].sort();
  const text = (filter.text ?? '').toLowerCase();
  if (levels.length === 0 && text === '') return null;
  const levelSet = new Set(levels);
  const effective: LogFilter = {};
  if (levels.length > 0) effective.levels = levels;
  if (text !== '') effective.text = text;
  return {
    key: JSON.stringify(effective),
    effective,
    matches: (entry) =>
      (levelSet.size === 0 || levelSet.has(entry.level.toLowerCase())) &&
      (text === '' || entry.message.toLowerCase().includes(text)),
  };
}
