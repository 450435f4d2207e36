// How long the library's PostgreSQL connections wait: set on pg's pool and on the server's session,
// so that a server or network that stops answering refuses requests within `database.queryTimeoutMs`
// instead of holding them, and leaves no transaction behind that a later request could commit.

type PgQuery = (this: PgClient, ...args: unknown[]) => unknown;

/** The part of pg's Client read here. */
interface PgClient {
  query: PgQuery;
  /** pg's connection to the server (public at run time, used by pg itself to abort a pipeline). */
  connection?: { stream?: { destroy(error?: Error): void } };
}
type PgClientClass = (new (...args: never[]) => PgClient) & { prototype: PgClient };

/** pg's message for a query its client stopped waiting for (`query_timeout`). */
const CLIENT_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * The server cancels a statement at this share of the query timeout, before the client gives up: a
 * cancelled statement fails cleanly (SQLSTATE 57014) and its connection stays usable; the client's
 * own timeout is then only reached when the server or the network does not answer at all.
 */
const SERVER_SHARE = 0.8;

export interface PostgresTimeouts {
  connectTimeoutMs: number;
  queryTimeoutMs: number;
}

/** pg pool settings (TypeORM's `extra`) for request traffic. `pg` is the driver module. */
export function postgresPoolSettings(
  timeouts: PostgresTimeouts,
  pg: { Client: PgClientClass },
): Record<string, unknown> {
  return {
    // A new connection, or a pooled one to become free, within this (pg-pool applies it to both).
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    statement_timeout: Math.max(1, Math.floor(timeouts.queryTimeoutMs * SERVER_SHARE)),
    // A session left inside a transaction (its client gone) is ended by the server, its locks freed.
    idle_in_transaction_session_timeout: timeouts.queryTimeoutMs,
    query_timeout: timeouts.queryTimeoutMs,
    keepAlive: true,
    Client: abandoningClient(pg.Client),
  };
}

/**
 * pg's Client, except that a query it stopped waiting for ends its connection. pg only stops
 * waiting: the connection keeps the query as active, the ROLLBACK sent after it times out in turn
 * and is never sent, and the pool takes the connection back (it discards a client only on an error).
 * When the server then finished the statement, the session sat inside the transaction, and the next
 * request on that connection committed the refused write with its own. Ending the connection makes
 * the pool discard it and the server roll the transaction back.
 */
function abandoningClient(Client: PgClientClass): PgClientClass {
  class AbandoningClient extends Client {}
  const query: PgQuery = Client.prototype.query;
  AbandoningClient.prototype.query = function (this: PgClient, ...args: unknown[]): unknown {
    const result = query.apply(this, args);
    if (isPromiseLike(result)) {
      result.then(undefined, (error: unknown) => {
        if (error instanceof Error && error.message === CLIENT_TIMEOUT_MESSAGE) {
          this.connection?.stream?.destroy(new Error('query timed out: connection abandoned'));
        }
      });
    }
    return result;
  };
  return AbandoningClient;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
