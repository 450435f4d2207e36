// Every migration of the library, in order. Run automatically at start on SQLite and PostgreSQL.
import { CreateUsers1732300000000 } from './1732300000000-create-users';

export const REALTIME_MIGRATIONS = [CreateUsers1732300000000];
