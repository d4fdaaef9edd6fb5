/**
 * Connection URLs: `memory://`, `zookeeper://`, `etcd://`, `etcds://`, `redis://`, `rediss://`.
 *
 * Parsed by hand because WHATWG `URL` cannot parse comma-separated host lists. Every failure
 * is a `CoordError('INVALID_URL')` whose message names the problem and echoes the URL only
 * through {@link redactUrl}, so a password never reaches a message, a log line or a stack.
 *
 * Grammar (see DESIGN.md §2):
 * ```
 * memory://[name][?options]
 * zookeeper://[user[:pass]@]host[:port][,host[:port]...][/chroot][?options]
 * etcd[s]://[user[:pass]@]host[:port][,host[:port]...][/prefix][?options]
 * redis[s]://[[user][:pass]@]host[:port][/db][?options]
 * ```
 */
import type { BackendOptions, ConnectionConfig, HostPort, Scheme } from './config.js';
import type { BackendName, DriverSettings } from './driver.js';
import { CoordError } from './errors.js';
import { MAX_PATH_LENGTH, validatePath } from './paths.js';
import { Secret } from './secret.js';

/** Timeouts used when neither the URL nor `connect` options give one. */
export const DEFAULT_SETTINGS: DriverSettings = Object.freeze({
  sessionTimeout: 10_000,
  connectTimeout: 10_000,
  operationTimeout: 5_000,
});

const PREFIX = 'coord url: ';
const MAX_ECHO = 200;

type SettingName = keyof DriverSettings;
const SETTING_NAMES: readonly SettingName[] = ['sessionTimeout', 'connectTimeout', 'operationTimeout'];
const SETTING_RANGES: Readonly<Record<SettingName, readonly [number, number]>> = {
  sessionTimeout: [100, 3_600_000],
  connectTimeout: [1, 600_000],
  operationTimeout: [1, 600_000],
};

const TTL_RANGE = [1, 3600] as const;
const DB_MAX = 65_535;
const PREFIX_RE = /^[A-Za-z0-9:._-]{1,128}$/;
const STORE_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const DEFAULT_STORE = 'default';

interface SchemeInfo {
  readonly backend: BackendName;
  readonly tls: boolean;
  readonly defaultPort: number;
  /** Options this scheme takes besides the common timeouts. */
  readonly extra: readonly string[];
}

const SCHEMES: Readonly<Record<Scheme, SchemeInfo>> = {
  memory: { backend: 'memory', tls: false, defaultPort: 0, extra: [] },
  zookeeper: { backend: 'zookeeper', tls: false, defaultPort: 2181, extra: [] },
  etcd: { backend: 'etcd', tls: false, defaultPort: 2379, extra: ['ttl'] },
  etcds: { backend: 'etcd', tls: true, defaultPort: 2379, extra: ['ttl'] },
  redis: { backend: 'redis', tls: false, defaultPort: 6379, extra: ['prefix'] },
  rediss: { backend: 'redis', tls: true, defaultPort: 6379, extra: ['prefix'] },
};
const SCHEME_NAMES = Object.keys(SCHEMES) as Scheme[];
const KNOWN_SCHEMES_TEXT = SCHEME_NAMES.map((s) => `${s}://`).join(', ');

/** Which schemes an option belongs to, for "option X is only for Y" messages. */
const OPTION_OWNERS: Readonly<Record<string, string>> = {
  ttl: 'etcd/etcds',
  prefix: 'redis/rediss',
};

/** Order of options in the canonical (redacted) rendering. */
const OPTION_ORDER: readonly string[] = [...SETTING_NAMES, 'ttl', 'prefix'];

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE_G = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SPACE_RE = /\s/;

/**
 * Best-effort redaction of a string that may be a URL with a user info part: everything
 * between the first `://` (or the start of the string) and the **last** `@` is replaced by
 * `***` — over-redacting rather than leaking. Control characters become `?` and the result
 * is cut to 200 characters. Safe to embed in messages and logs.
 */
export function redactUrl(raw: string): string {
  if (typeof raw !== 'string') return '[not a string]';
  let out = raw;
  const lastAt = out.lastIndexOf('@');
  if (lastAt >= 0) {
    const sep = out.indexOf('://');
    // From the start of the string when there is no '://', or an '@' precedes it.
    const start = sep >= 0 && sep < out.indexOf('@') ? sep + 3 : 0;
    out = `${out.slice(0, start)}***${out.slice(lastAt)}`;
  }
  out = out.replace(CONTROL_RE_G, '?');
  if (out.length > MAX_ECHO) out = `${out.slice(0, MAX_ECHO - 1)}…`;
  return out;
}

/** Quotes a (non-secret) fragment of a URL for a message, shortened. */
function quote(fragment: string, max = 40): string {
  const cut = fragment.length > max ? `${fragment.slice(0, max)}…` : fragment;
  return JSON.stringify(cut.replace(CONTROL_RE_G, '?'));
}

/**
 * Parses and validates a connection URL.
 *
 * @param url the URL, e.g. `zookeeper://user:pw@h1:2181,h2:2181/app?sessionTimeout=15000`.
 * @param overrides timeouts from `connect(url, options)`; they replace the URL's.
 * @returns a frozen {@link ConnectionConfig}; its password is a {@link Secret}.
 * @throws CoordError `INVALID_URL` naming the problem (never the password);
 *   `INVALID_ARGUMENT` for a bad override.
 */
export function parseUrl(url: string, overrides?: Partial<DriverSettings>): ConnectionConfig {
  const raw: unknown = url;
  if (typeof raw !== 'string') {
    const kind = raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw;
    throw new CoordError('INVALID_URL', `${PREFIX}expected a URL string, got ${kind}`);
  }
  if (raw.length === 0) {
    throw new CoordError('INVALID_URL', `${PREFIX}empty URL (expected one of ${KNOWN_SCHEMES_TEXT})`);
  }

  const fail = (problem: string, detail?: string): never => {
    throw new CoordError(
      'INVALID_URL',
      `${PREFIX}${problem} in ${redactUrl(raw)}${detail === undefined ? '' : `: ${detail}`}`,
    );
  };

  // Characters not allowed anywhere.
  if (CONTROL_RE.test(raw)) fail('control character', 'URLs must not contain control characters');
  if (SPACE_RE.test(raw)) fail('space', 'URLs must not contain spaces or other whitespace');
  if (raw.includes('#')) {
    fail("'#' fragment", "URLs take no '#' fragment (percent-encode '#' in a user name or password as %23)");
  }

  // Scheme.
  const sep = raw.indexOf('://');
  if (sep < 0) fail("missing scheme ('://')", `expected one of ${KNOWN_SCHEMES_TEXT}`);
  const schemeText = raw.slice(0, sep);
  const schemeLower = schemeText.toLowerCase();
  if (!Object.hasOwn(SCHEMES, schemeLower)) {
    const shown = /^[A-Za-z][A-Za-z0-9+.-]{0,31}$/.test(schemeText) ? ` ${quote(schemeText)}` : '';
    fail(`unknown scheme${shown}`, `expected one of ${KNOWN_SCHEMES_TEXT}`);
  }
  const scheme = schemeLower as Scheme;
  const info = SCHEMES[scheme];

  // Split: authority [/path] [?query].
  const rest = raw.slice(sep + 3);
  const q = rest.indexOf('?');
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? undefined : rest.slice(q + 1);
  const slash = beforeQuery.indexOf('/');
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash < 0 ? undefined : beforeQuery.slice(slash);

  // An '@' after the authority means a user name or password held an unencoded '/' or '?'.
  // Refuse without echoing any part, so no fragment of the password can reach the message.
  if ((path ?? '').includes('@') || (query ?? '').includes('@')) {
    fail(
      "misplaced '@'",
      "'@' may only end the user info before the hosts (percent-encode '@', '/', '?' and '#' in a user name or password)",
    );
  }
  const lastAt = authority.lastIndexOf('@');
  if (authority.indexOf('@') !== lastAt) {
    fail("more than one '@'", "percent-encode '@' in a user name or password as %40");
  }
  const userinfo = lastAt < 0 ? undefined : authority.slice(0, lastAt);
  const hostText = authority.slice(lastAt + 1);

  // User info.
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    if (scheme === 'memory') fail('user info', 'memory:// URLs take no user name or password');
    const colon = userinfo.indexOf(':');
    const rawUser = colon < 0 ? userinfo : userinfo.slice(0, colon);
    const rawPass = colon < 0 ? undefined : userinfo.slice(colon + 1);
    const user = decode(rawUser, () => fail('malformed percent-escape in the user name'));
    const pass = rawPass === undefined ? '' : decode(rawPass, () => fail('malformed percent-escape in the password'));
    if (CONTROL_RE.test(user)) fail('control character in the user name');
    if (user === '' && pass === '') fail("empty user info before '@'");
    if (user === '' && info.backend !== 'redis') {
      fail('missing user name', `${scheme} needs a user name with a password (user:pass@)`);
    }
    if (user !== '') username = user;
    if (pass !== '') password = pass;
  }

  // Hosts, path.
  const options: { -readonly [K in keyof BackendOptions]: BackendOptions[K] } = {};
  let hosts: HostPort[] = [];
  let namespace = '';
  let storeNameGiven = false;
  let dbGiven = false;
  if (scheme === 'memory') {
    if (path !== undefined) fail('path', 'memory:// URLs take no path (use memory://name)');
    if (hostText.includes(':')) fail('port', 'memory:// URLs take no port (use memory://name)');
    if (hostText === '') {
      options.storeName = DEFAULT_STORE;
    } else {
      if (!STORE_NAME_RE.test(hostText)) {
        fail(`invalid store name ${quote(hostText)}`, 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
      }
      options.storeName = hostText;
      storeNameGiven = true;
    }
  } else {
    hosts = parseHosts(hostText, info.defaultPort, fail);
    if (info.backend === 'redis' && hosts.length !== 1) {
      fail(`${hosts.length} hosts`, `${scheme} takes exactly one host`);
    }
    if (info.backend === 'redis') {
      options.db = 0;
      if (path !== undefined && path !== '/') {
        const db = path.slice(1);
        if (!/^\d{1,5}$/.test(db) || Number(db) > DB_MAX) {
          fail(`invalid database ${quote(db)}`, `the path must be a database number 0-${DB_MAX}`);
        }
        options.db = Number(db);
        dbGiven = true;
      }
    } else if (path !== undefined && path !== '/') {
      const what = info.backend === 'zookeeper' ? 'chroot' : 'key prefix';
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
      namespace = path;
    }
  }

  // Query options.
  const given = new Map<string, string>();
  if (query !== undefined) {
    if (query === '') fail("empty query after '?'");
    const known = [...SETTING_NAMES, ...info.extra];
    for (const part of query.split('&')) {
      if (part === '') fail("empty option (stray '&')");
      const eq = part.indexOf('=');
      const name = eq < 0 ? part : part.slice(0, eq);
      if (name === '') fail("option without a name ('=value')");
      if (!known.includes(name)) {
        const owner = OPTION_OWNERS[name];
        if (owner !== undefined) fail(`option ${quote(name)} is only for ${owner}`, `${scheme} takes ${known.join(', ')}`);
        fail(`unknown option ${quote(name)} for ${scheme}`, `known: ${known.join(', ')}`);
      }
      if (eq < 0) fail(`option ${quote(name)} without a value`, 'expected name=value');
      const value = part.slice(eq + 1);
      if (value === '') fail(`empty value for option ${quote(name)}`);
      if (given.has(name)) fail(`duplicate option ${quote(name)}`);
      given.set(name, value);
    }
  }

  const settings: { -readonly [K in SettingName]: number } = { ...DEFAULT_SETTINGS };
  const canonical = new Map<string, string>();
  for (const name of SETTING_NAMES) {
    const value = given.get(name);
    if (value === undefined) continue;
    const [min, max] = SETTING_RANGES[name];
    const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= min && n <= max)) {
      fail(`invalid ${name} ${quote(value)}`, `must be an integer number of milliseconds, ${min}-${max}`);
    }
    settings[name] = n;
    canonical.set(name, String(n));
  }
  const ttl = given.get('ttl');
  if (ttl !== undefined) {
    if (given.has('sessionTimeout')) {
      fail('conflicting options "ttl" and "sessionTimeout"', 'give one (ttl=N sets sessionTimeout to N*1000 ms)');
    }
    const [min, max] = TTL_RANGE;
    const n = /^\d{1,10}$/.test(ttl) ? Number(ttl) : Number.NaN;
    if (!(n >= min && n <= max)) fail(`invalid ttl ${quote(ttl)}`, `must be whole seconds, ${min}-${max}`);
    options.ttlSeconds = n;
    settings.sessionTimeout = n * 1000;
    canonical.set('ttl', String(n));
  }
  const prefix = given.get('prefix');
  if (prefix !== undefined) {
    if (!PREFIX_RE.test(prefix)) {
      fail(`invalid prefix ${quote(prefix)}`, 'must be 1-128 characters of A-Z a-z 0-9 : . _ -');
    }
    options.prefix = prefix;
    canonical.set('prefix', prefix);
  }

  applyOverrides(settings, options, overrides);

  // Canonical rendering, password as ***.
  let redacted = `${scheme}://`;
  if (username !== undefined || password !== undefined) {
    redacted += `${username === undefined ? '' : encodeURIComponent(username)}${password === undefined ? '' : ':***'}@`;
  }
  if (scheme === 'memory') {
    if (storeNameGiven && options.storeName !== undefined) redacted += options.storeName;
  } else {
    redacted += hosts.map((h) => `${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}`).join(',');
    if (dbGiven) redacted += `/${options.db}`;
    else redacted += namespace;
  }
  const query2 = OPTION_ORDER.filter((n) => canonical.has(n)).map((n) => `${n}=${canonical.get(n)}`);
  if (query2.length > 0) redacted += `?${query2.join('&')}`;

  const config: ConnectionConfig = {
    scheme,
    backend: info.backend,
    tls: info.tls,
    hosts: Object.freeze(hosts.map((h) => Object.freeze(h))),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password: new Secret(password) }),
    namespace,
    settings: Object.freeze(settings),
    options: Object.freeze(options),
    redacted,
  };
  return Object.freeze(config);
}

/** `decodeURIComponent`, calling `onError` (which throws) for a malformed escape. */
function decode(text: string, onError: () => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return onError();
  }
}

/** Parses `h1[:p1],[v6][:p2],...` (all fragments here are after the last '@', so not secret). */
function parseHosts(
  text: string,
  defaultPort: number,
  fail: (problem: string, detail?: string) => never,
): HostPort[] {
  if (text === '') fail('empty host', 'give at least one host[:port]');
  const hosts: HostPort[] = [];
  const seen = new Set<string>();
  for (const entry of text.split(',')) {
    let host: string;
    let portText: string | undefined;
    if (entry.startsWith('[')) {
      const close = entry.indexOf(']');
      if (close < 0) fail(`unclosed '[' in host ${quote(entry)}`);
      host = entry.slice(1, close);
      const after = entry.slice(close + 1);
      if (after !== '' && !after.startsWith(':')) {
        fail(`invalid host ${quote(entry)}`, "expected [ipv6] or [ipv6]:port");
      }
      portText = after === '' ? undefined : after.slice(1);
      if (!isIPv6(host)) fail(`invalid IPv6 address ${quote(host)}`);
      host = host.toLowerCase();
    } else {
      const colon = entry.indexOf(':');
      if (colon >= 0 && entry.indexOf(':', colon + 1) >= 0) {
        fail(`invalid host ${quote(entry)}`, 'put an IPv6 address in brackets: [::1]:2181');
      }
      host = colon < 0 ? entry : entry.slice(0, colon);
      portText = colon < 0 ? undefined : entry.slice(colon + 1);
      if (host === '') fail('empty host', "every host in the comma-separated list needs a name (e.g. 'h1,h2')");
      const hostProblem = checkHostName(host);
      if (hostProblem !== undefined) fail(`invalid host ${quote(host)}`, hostProblem);
      host = host.toLowerCase();
    }
    let port = defaultPort;
    if (portText !== undefined) {
      const n = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
      if (!(n >= 1 && n <= 65_535)) fail(`invalid port ${quote(portText)} for host ${quote(host)}`, 'must be 1-65535');
      port = n;
    }
    const key = `${host}|${port}`;
    if (seen.has(key)) fail(`duplicate host ${quote(host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)}`);
    seen.add(key);
    hosts.push({ host, port });
  }
  return hosts;
}

/** Why `host` is not a valid host name or IPv4 address, or undefined if it is. */
function checkHostName(host: string): string | undefined {
  if (!/^[A-Za-z0-9.-]+$/.test(host)) return 'a host name takes only A-Z a-z 0-9 . - (IPv6 goes in brackets)';
  if (/^[\d.]+$/.test(host)) return isIPv4(host) ? undefined : 'not a valid IPv4 address';
  if (host.length > 253) return 'longer than 253 characters';
  for (const label of host.split('.')) {
    if (label === '') return "has an empty label ('..' or a leading/trailing '.')";
    if (label.length > 63) return 'has a label longer than 63 characters';
    if (label.startsWith('-') || label.endsWith('-')) return "has a label starting or ending with '-'";
  }
  return undefined;
}

function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return (
    parts.length === 4 &&
    parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)
  );
}

function isIPv6(text: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  let hex = text;
  if (text.includes('.')) {
    const cut = text.lastIndexOf(':');
    if (cut < 0 || !isIPv4(text.slice(cut + 1))) return false;
    hex = `${text.slice(0, cut + 1)}0:0`;
  }
  const group = /^[0-9A-Fa-f]{1,4}$/;
  const halves = hex.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) {
    const groups = hex.split(':');
    return groups.length === 8 && groups.every((g) => group.test(g));
  }
  const [left = '', right = ''] = halves;
  const l = left === '' ? [] : left.split(':');
  const r = right === '' ? [] : right.split(':');
  return l.length + r.length <= 7 && [...l, ...r].every((g) => group.test(g));
}

/** Applies `connect` options over the URL's settings (INVALID_ARGUMENT when bad). */
function applyOverrides(
  settings: { -readonly [K in SettingName]: number },
  options: { -readonly [K in keyof BackendOptions]: BackendOptions[K] },
  overrides: unknown,
): void {
  if (overrides === undefined || overrides === null) return;
  if (typeof overrides !== 'object') {
    throw new CoordError('INVALID_ARGUMENT', `${PREFIX}connect options must be an object, got ${typeof overrides}`);
  }
  const given = overrides as Partial<Record<SettingName, unknown>>;
  for (const name of SETTING_NAMES) {
    const value = given[name];
    if (value === undefined) continue;
    const [min, max] = SETTING_RANGES[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      const shown = typeof value === 'number' ? String(value) : typeof value;
      throw new CoordError(
        'INVALID_ARGUMENT',
        `${PREFIX}invalid ${name} option (${shown}): must be an integer number of milliseconds, ${min}-${max}`,
      );
    }
    settings[name] = value;
  }
  // Keep an etcd lease TTL consistent with an overridden session timeout.
  if (given.sessionTimeout !== undefined && options.ttlSeconds !== undefined) {
    options.ttlSeconds = Math.max(TTL_RANGE[0], Math.ceil(settings.sessionTimeout / 1000));
  }
}
