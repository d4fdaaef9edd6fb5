/**
 * The connection-URL grammar as data: the scheme table, option names and value ranges, the
 * character classes refused anywhere, and the mutable shapes the parsers fill in. Nothing here
 * parses; the other files in this folder read it.
 */
import type { BackendOptions, Scheme } from '../config.js';
import type { BackendName, DriverSettings } from '../driver.js';

/** Timeouts used when neither the URL nor `connect` options give one. */
export const DEFAULT_SETTINGS: DriverSettings = Object.freeze({
  sessionTimeout: 10_000,
  connectTimeout: 10_000,
  operationTimeout: 5_000,
});

/** Leads every message, so a reader knows the URL parser raised it. */
export const PREFIX = 'coord url: ';
/** Longest echo of a URL in a message, so a huge input cannot flood a log line. */
export const MAX_ECHO = 200;

/** A timeout a URL option or a `connect` option may set. */
export type SettingName = keyof DriverSettings;
/** {@link DriverSettings} while it is being filled in; frozen before it is returned. */
export type MutableSettings = { -readonly [K in SettingName]: number };
/** {@link BackendOptions} while it is being filled in; frozen before it is returned. */
export type MutableOptions = { -readonly [K in keyof BackendOptions]: BackendOptions[K] };

/** The timeouts, in the order they are checked and rendered. */
export const SETTING_NAMES: readonly SettingName[] = ['sessionTimeout', 'connectTimeout', 'operationTimeout'];
/** Inclusive bounds of each timeout, ms. */
export const SETTING_RANGES: Readonly<Record<SettingName, readonly [number, number]>> = {
  sessionTimeout: [100, 3_600_000],
  connectTimeout: [1, 600_000],
  operationTimeout: [1, 600_000],
};

/** Inclusive bounds of the etcd `ttl` option, whole seconds. */
export const TTL_RANGE = [1, 3600] as const;
/** Highest Redis database number a path may name. */
export const DB_MAX = 65_535;
/** What a Redis `prefix` option may contain. */
export const PREFIX_RE = /^[A-Za-z0-9:._-]{1,128}$/;
/** What a `memory://name` store name may contain. */
export const STORE_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** The store `memory://` names when it gives no name. */
export const DEFAULT_STORE = 'default';

/** What a scheme selects. */
export interface SchemeInfo {
  readonly backend: BackendName;
  readonly tls: boolean;
  readonly defaultPort: number;
  /** Options this scheme takes besides the common timeouts. */
  readonly extra: readonly string[];
}

/** Every scheme Coord accepts (lower case; the parser lower-cases the URL's). */
export const SCHEMES: Readonly<Record<Scheme, SchemeInfo>> = {
  memory: { backend: 'memory', tls: false, defaultPort: 0, extra: [] },
  zookeeper: { backend: 'zookeeper', tls: false, defaultPort: 2181, extra: [] },
  etcd: { backend: 'etcd', tls: false, defaultPort: 2379, extra: ['ttl'] },
  etcds: { backend: 'etcd', tls: true, defaultPort: 2379, extra: ['ttl'] },
  redis: { backend: 'redis', tls: false, defaultPort: 6379, extra: ['prefix'] },
  rediss: { backend: 'redis', tls: true, defaultPort: 6379, extra: ['prefix'] },
};
const SCHEME_NAMES = Object.keys(SCHEMES) as Scheme[];
/** `memory://, zookeeper://, ...` for "expected one of" messages. */
export const KNOWN_SCHEMES_TEXT = SCHEME_NAMES.map((s) => `${s}://`).join(', ');

/** Which schemes an option belongs to, for "option X is only for Y" messages. */
export const OPTION_OWNERS: Readonly<Record<string, string>> = {
  ttl: 'etcd/etcds',
  prefix: 'redis/rediss',
};

/** Order of options in the canonical (redacted) rendering. */
export const OPTION_ORDER: readonly string[] = [...SETTING_NAMES, 'ttl', 'prefix'];

/** Control characters, refused anywhere in a URL. */
// eslint-disable-next-line no-control-regex
export const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
/** Characters replaced by `?` before anything is echoed (line separators would split a log line). */
// eslint-disable-next-line no-control-regex
export const CONTROL_RE_G = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** Whitespace, refused anywhere in a URL. */
export const SPACE_RE = /\s/;

/** The user info, percent-decoded; an empty user name or password counts as none. */
export interface Credentials {
  readonly username: string | undefined;
  readonly password: string | undefined;
}
