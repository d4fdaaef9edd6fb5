/**
 * What a URL points at, after the user info: a memory store's name, or the hosts plus the
 * path — a Redis database number, a ZooKeeper chroot or an etcd key prefix.
 */
import type { HostPort, Scheme } from '../config.js';
import type { BackendName } from '../driver.js';
import { MAX_PATH_LENGTH, validatePath } from '../paths.js';
import { hostPortText, parseHosts } from './authority.js';
import type { MutableOptions } from './grammar.js';
import { DB_MAX, DEFAULT_STORE, SCHEMES, STORE_NAME_RE } from './grammar.js';
import type { Fail } from './redact.js';
import { quote } from './redact.js';

/** The hosts-and-path part of a parsed URL. */
export interface Target {
  readonly hosts: HostPort[];
  /** ZooKeeper chroot or etcd key prefix, `''` for none. */
  readonly namespace: string;
  /** `storeName` (memory) or `db` (Redis); the query parser adds to it. */
  readonly options: MutableOptions;
  /** This part in canonical form: ports filled in, a path only where the URL gave one. */
  readonly shown: string;
}

/**
 * Parses `hostText` and `path` (with its leading `/`, undefined if the URL has none) for `scheme`.
 * @example parseTarget('redis', 'cache', '/3', fail).options // { db: 3 }
 */
export function parseTarget(scheme: Scheme, hostText: string, path: string | undefined, fail: Fail): Target {
  if (scheme === 'memory') return memoryTarget(hostText, path, fail);
  const info = SCHEMES[scheme];
  const hosts = parseHosts(hostText, info.defaultPort, fail);
  if (info.backend === 'redis') return redisTarget(scheme, hosts, path, fail);
  return namespaceTarget(info.backend, hosts, path, fail);
}

/** `memory://[name]`: a store name, no port, no path. */
function memoryTarget(hostText: string, path: string | undefined, fail: Fail): Target {
  if (path !== undefined) fail('path', 'memory:// URLs take no path (use memory://name)');
  if (hostText.includes(':')) fail('port', 'memory:// URLs take no port (use memory://name)');
  if (hostText === '') return { hosts: [], namespace: '', options: { storeName: DEFAULT_STORE }, shown: '' };
  if (!STORE_NAME_RE.test(hostText)) {
    fail(`invalid store name ${quote(hostText)}`, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
  }
  return { hosts: [], namespace: '', options: { storeName: hostText }, shown: hostText };
}

/** `redis[s]://host[:port][/db]`: exactly one host, database 0 unless the path names one. */
function redisTarget(scheme: Scheme, hosts: HostPort[], path: string | undefined, fail: Fail): Target {
  if (hosts.length !== 1) fail(`${hosts.length} hosts`, `${scheme} takes exactly one host`);
  const shown = hosts.map(hostPortText).join(',');
  if (path === undefined || path === '/') return { hosts, namespace: '', options: { db: 0 }, shown };
  const db = path.slice(1);
  if (!/^\d{1,5}$/.test(db) || Number(db) > DB_MAX) {
    fail(`invalid database ${quote(db)}`, `the path must be a database number 0-${DB_MAX}`);
  }
  return { hosts, namespace: '', options: { db: Number(db) }, shown: `${shown}/${Number(db)}` };
}

/** ZooKeeper and etcd: the path, if any besides `/`, is the namespace. */
function namespaceTarget(backend: BackendName, hosts: HostPort[], path: string | undefined, fail: Fail): Target {
  const shown = hosts.map(hostPortText).join(',');
  if (path === undefined || path === '/') return { hosts, namespace: '', options: {}, shown };
  const what = backend === 'zookeeper' ? 'chroot' : 'key prefix';
  if (path.length > MAX_PATH_LENGTH) {
    fail(`invalid ${what}`, `longer than ${MAX_PATH_LENGTH} characters`);
  }
  try {
    validatePath(path, what);
  } catch (error) {
    // validatePath says `${what} "<path>": <why>`; keep the why, re-raise as INVALID_URL.
    const message = error instanceof Error ? error.message : '';
    const lead = `${what} ${JSON.stringify(path)}: `;
    fail(`invalid ${what} ${quote(path)}`, message.startsWith(lead) ? message.slice(lead.length) : 'not a valid path');
  }
  return { hosts, namespace: path, options: {}, shown: `${shown}${path}` };
}
