// Public names, option docs, comments and log lines of the library and the SDK speak of features
// ("rooms", "log stream"), never of the specification documents' numbers: that mapping lives in one
// table of the README and in test names.
import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative } from 'path';

const ROOT = join(__dirname, '../../..');
const SOURCES = ['libs/realtime/src', 'libs/realtime-client/src'];
const SPEC_NUMBER = /seeds? ?0\d\d/i;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.ts$/.test(name) && !/\.(spec|helper-spec)\.ts$/.test(name) ? [full] : [];
  });
}

describe('library source names', () => {
  it('name no specification number outside specs', () => {
    const files = SOURCES.flatMap((dir) => sourceFiles(join(ROOT, dir)));
    expect(files.length).toBeGreaterThan(50);
    const hits = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) =>
          SPEC_NUMBER.test(line) ? [`${relative(ROOT, file)}:${index + 1}: ${line.trim()}`] : [],
        ),
    );
    expect(hits).toEqual([]);
  });
});
