import { InvalidConfigError } from '@embedding-layer/core';
import { RedisUnavailableError } from './errors.js';
import { LIBRARY_NAME, LIBRARY_SOURCE } from './functions.js';
import { type Arg, type Link, type LinkOptions, openLink } from './link.js';

/**
 * The backend's connection: opened on first use, shared by its tables, reopened after a
 * {@link RedisUnavailableError} (so a new cluster topology is discovered after a failover),
 * closed when the last table is disposed. Makes sure every master has the functions library.
 *
 * @internal
 */
export class Connection {
  private link: Promise<Link> | null = null;
  private users = 0;

  constructor(readonly options: LinkOptions) {}

  /** A live link (opening or reopening it), with the functions library loaded on every master. */
  get(): Promise<Link> {
    this.link ??= this.open().catch((error: unknown) => {
      this.link = null;
      throw error;
    });
    return this.link;
  }

  private async open(): Promise<Link> {
    let link: Link;
    try {
      link = await openLink(this.options);
    } catch (error) {
      throw credentialsError(error, this.options) ?? error;
    }
    try {
      await loadFunctions(link);
    } catch (error) {
      await link.close();
      throw error;
    }
    return link;
  }

  /** Forgets `link` after a connection failure: the next `get()` reconnects and rediscovers the cluster. */
  invalidate(link: Link): void {
    const current = this.link;
    if (!current) return;
    current.then(
      (l) => {
        if (l === link && this.link === current) {
          this.link = null;
          void l.close().catch(() => {});
        }
      },
      () => {},
    );
  }

  /** Runs `op` on a live link; a connection failure invalidates the link and rethrows. */
  async run<T>(op: (link: Link) => Promise<T>): Promise<T> {
    const link = await this.get();
    try {
      return await op(link);
    } catch (error) {
      if (RedisUnavailableError.isInstance(error)) this.invalidate(link);
      throw error;
    }
  }

  /** A table starts using the connection. */
  acquire(): void {
    this.users++;
  }

  /** A table stops using it; the last one closes it. */
  async release(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0 || !this.link) return;
    const link = this.link;
    this.link = null;
    await link.then(
      (l) => l.close(),
      () => {},
    );
  }
}

/** A WRONGPASS / NOAUTH / NOPERM reply, as an `InvalidConfigError` that says what to pass. */
function credentialsError(error: unknown, options: LinkOptions): InvalidConfigError | null {
  const text = `${(error as Error)?.message ?? ''} ${((error as { cause?: Error })?.cause as Error | undefined)?.message ?? ''}`;
  if (!/WRONGPASS|NOAUTH|NOPERM|invalid password|Authentication required/i.test(text)) return null;
  const where = options.url ?? options.nodes.map((n) => `${n.host}:${n.port}`).join(', ');
  return new InvalidConfigError(
    `Redis at ${where} refused the credentials (${text.trim()}). Expected the username/password of an ACL user allowed to run ` +
      `HGET/HMGET/HSET/UNLINK/FCALL/FUNCTION/WAIT on the table's keys; received ${
        options.password === undefined ? 'no password' : `a password of ${options.password.length} characters`
      }${options.username === undefined ? '' : ` for user ${JSON.stringify(options.username)}`}. Pass options.username/options.password.`,
    { cause: error },
  );
}

/** Loads the library on every master that lacks it (`FUNCTION LOAD`, never REPLACE of another version's name). @internal */
export async function loadFunctions(link: Link): Promise<void> {
  const masters = await link.masters();
  await Promise.all(
    masters.map(async (m) => {
      const listed = (await m.send(['FUNCTION', 'LIST', 'LIBRARYNAME', LIBRARY_NAME])) as unknown[];
      if (Array.isArray(listed) && listed.length > 0) return;
      try {
        await m.send(['FUNCTION', 'LOAD', LIBRARY_SOURCE]);
      } catch (error) {
        if (!/already exists/i.test((error as Error).message)) throw error;
      }
    }),
  );
}

/** Whether `error` says a function is not loaded on the node that answered (a node that joined after the library was loaded). @internal */
export function isMissingFunction(error: unknown): boolean {
  return /Function not found|ERR Function/i.test((error as Error)?.message ?? '');
}

export type { Arg };
