// The benchmark's command line (bench/cli.ts): fan-out scenarios named by repeated `--scenario`
// flags, the groups they select, and the command the report records for a run built in parts.
import { join } from 'path';
import { parseArgs, recordedCommand, selectedGroups } from '../bench/cli';

const BENCH_DIR = join(__dirname, '..', 'bench');

describe('benchmark command line', () => {
  it('takes every --scenario flag, commas and all, and selects the fan-out group for them', () => {
    const options = parseArgs(
      ['--rounds=12', '--scenario=rooms, 100 members', '--scenario=chat, 100 members'],
      {},
      BENCH_DIR,
    );
    expect(options.scenarios).toEqual(['rooms, 100 members', 'chat, 100 members']);
    expect(options.rounds).toBe(12);
    expect([...selectedGroups(options)]).toEqual(['fanout']);
  });

  it('leaves the scenarios undefined without the flag, and refuses them outside the fan-out group', () => {
    expect(parseArgs(['--only=logs'], {}, BENCH_DIR).scenarios).toBeUndefined();
    const options = parseArgs(['--only=logs', '--scenario=rooms, 100 members'], {}, BENCH_DIR);
    expect(() => selectedGroups(options)).toThrow('--scenario names a fan-out scenario');
  });

  it('records a full run by its own flags', () => {
    expect(recordedCommand('npm run bench', false, '--rounds=3', ['--rounds=3'])).toBe(
      'npm run bench -- --rounds=3',
    );
  });

  it('adds a partial run to the command of the results it completes, quoting an argument with a space', () => {
    const first = recordedCommand(undefined, true, '', ['--only=connections', '--rounds=4']);
    expect(first).toBe('npm run bench, then again with -- --only=connections --rounds=4');
    expect(recordedCommand(first, true, '', ['--only=fanout', '--scenario=rooms, 100 members'])).toBe(
      'npm run bench, then again with -- --only=connections --rounds=4, ' +
        'then again with -- --only=fanout "--scenario=rooms, 100 members"',
    );
  });
});
