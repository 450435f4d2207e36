// Databases written by earlier releases (test/fixtures/releases/<version>/), for upgrade specs: the
// fixture is copied to a fresh data folder, so that the current version migrates the copy and never
// the committed file.
import type { INestApplication } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { REALTIME_CONNECTION } from 'nest-realtime';
import type { DataSource } from 'typeorm';

export const RELEASE_FIXTURES = join(__dirname, '..', 'fixtures', 'releases');

export interface ReleaseDataDir {
  /** A temporary data folder holding the release's library database as `realtime.sqlite`. */
  dataDir: string;
  /** Removes the folder. */
  remove(): void;
}

/** Copies the library database written by `release` into a fresh data folder. */
export function copyReleaseDatabase(release: string): ReleaseDataDir {
  const source = join(RELEASE_FIXTURES, release, 'realtime.sqlite');
  if (!existsSync(source)) throw new Error(`no database fixture for release ${release} (${source})`);
  // The fixture must be self-contained: a WAL beside it would hold rows the copy does not.
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(source + suffix))
      throw new Error(`${source}${suffix} exists: checkpoint it into the file`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), `rt-release-${release}-`));
  copyFileSync(source, join(dataDir, 'realtime.sqlite'));
  return { dataDir, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}

export interface AppliedMigration {
  id: number;
  timestamp: number;
  name: string;
}

/** The rows of the library's migrations table (`rt_migrations`), in the order they were applied. */
export async function appliedMigrations(app: INestApplication): Promise<AppliedMigration[]> {
  const dataSource = app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION));
  const rows = await dataSource.query<Array<{ id: number; timestamp: number | string; name: string }>>(
    'SELECT id, timestamp, name FROM rt_migrations ORDER BY id',
  );
  return rows.map((row) => ({ id: Number(row.id), timestamp: Number(row.timestamp), name: row.name }));
}

/** True when the library's connection has migrations not yet applied. */
export function hasPendingMigrations(app: INestApplication): Promise<boolean> {
  return app.get<DataSource>(getDataSourceToken(REALTIME_CONNECTION)).showMigrations();
}
