/**
 * Connection URLs: `memory://`, `zookeeper://`, `etcd://`, `etcds://`, `redis://`, `rediss://`.
 *
 * Parsed by hand because WHATWG `URL` cannot parse comma-separated host lists. Every failure
 * is a `CoordError('INVALID_URL')` whose message names the problem and echoes the URL only
 * through {@link redactUrl}, so a password never reaches a message, a log line or a stack.
 *
 * Grammar (see docs/design.md §1.2):
 * ```
 * memory://[name][?options]
 * zookeeper://[user[:pass]@]host[:port][,host[:port]...][/chroot][?options]
 * etcd[s]://[user[:pass]@]host[:port][,host[:port]...][/prefix][?options]
 * redis[s]://[[user][:pass]@]host[:port][/db][?options]
 * ```
 *
 * Files: `parse.ts` (the whole URL), `authority.ts` and `address.ts` (user info, hosts),
 * `target.ts` (store name, database, namespace), `query.ts` (options, `connect` overrides),
 * `redact.ts` (everything that echoes a URL), `grammar.ts` (the tables they share).
 */
export { DEFAULT_SETTINGS } from './grammar.js';
export { parseUrl } from './parse.js';
export { redactUrl } from './redact.js';
