/**
 * The query, `?name=value&...`: every scheme takes the three timeouts, etcd also `ttl` and
 * Redis also `prefix`. Values are checked against their ranges here, and `connect` options
 * are laid over the result.
 */
import type { Scheme } from '../config.js';
import { CoordError } from '../errors.js';
import type { MutableOptions, MutableSettings, SettingName } from './grammar.js';
import {
  DEFAULT_SETTINGS,
  OPTION_OWNERS,
  PREFIX,
  PREFIX_RE,
  SCHEMES,
  SETTING_NAMES,
  SETTING_RANGES,
  TTL_RANGE,
} from './grammar.js';
import type { Fail } from './redact.js';
import { quote } from './redact.js';

/** The settings a query gives, and its options as they are rendered canonically. */
export interface QueryOptions {
  readonly settings: MutableSettings;
  /** Option name to canonical value (`ttl=007` becomes `7`). */
  readonly canonical: Map<string, string>;
}

/**
 * Splits the query (without its `?`; undefined if the URL has none) into names and raw values,
 * refusing unknown, misplaced, empty and repeated options.
 */
export function parseQuery(query: string | undefined, scheme: Scheme, fail: Fail): Map<string, string> {
  const given = new Map<string, string>();
  if (query === undefined) return given;
  if (query === '') fail("empty query after '?'");
  const known = [...SETTING_NAMES, ...SCHEMES[scheme].extra];
  for (const part of query.split('&')) {
    const [name, value] = parseOption(part, scheme, known, fail);
    if (given.has(name)) fail(`duplicate option ${quote(name)}`);
    given.set(name, value);
  }
  return given;
}

/** One `name=value` of the query. */
function parseOption(part: string, scheme: Scheme, known: readonly string[], fail: Fail): [string, string] {
  if (part === '') fail("empty option (stray '&')");
  const eq = part.indexOf('=');
  const name = eq < 0 ? part : part.slice(0, eq);
  if (name === '') fail("option without a name ('=value')");
  if (!known.includes(name)) {
    // Own properties only: `constructor` or `toString` must read as unknown options.
    const owner = Object.hasOwn(OPTION_OWNERS, name) ? OPTION_OWNERS[name] : undefined;
    if (owner !== undefined) fail(`option ${quote(name)} is only for ${owner}`, `${scheme} takes ${known.join(', ')}`);
    fail(`unknown option ${quote(name)} for ${scheme}`, `known: ${known.join(', ')}`);
  }
  if (eq < 0) fail(`option ${quote(name)} without a value`, 'expected name=value');
  const value = part.slice(eq + 1);
  if (value === '') fail(`empty value for option ${quote(name)}`);
  return [name, value];
}

/**
 * Checks the values of `given` (from {@link parseQuery}): fills in the settings from the
 * defaults, and adds `ttlSeconds` and `prefix` to `options`.
 */
export function readQueryOptions(given: ReadonlyMap<string, string>, options: MutableOptions, fail: Fail): QueryOptions {
  const { settings, canonical } = readTimeouts(given, fail);
  const ttl = given.get('ttl');
  if (ttl !== undefined) {
    if (given.has('sessionTimeout')) {
      fail('conflicting options "ttl" and "sessionTimeout"', 'give one (ttl=N sets sessionTimeout to N*1000 ms)');
    }
    const [min, max] = TTL_RANGE;
    const n = bounded(ttl, min, max) ?? fail(`invalid ttl ${quote(ttl)}`, `must be whole seconds, ${min}-${max}`);
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
  return { settings, canonical };
}

/** The three timeouts: the defaults, replaced by those the query gives. */
function readTimeouts(given: ReadonlyMap<string, string>, fail: Fail): QueryOptions {
  const settings: MutableSettings = { ...DEFAULT_SETTINGS };
  const canonical = new Map<string, string>();
  for (const name of SETTING_NAMES) {
    const value = given.get(name);
    if (value === undefined) continue;
    const [min, max] = SETTING_RANGES[name];
    settings[name] =
      bounded(value, min, max) ??
      fail(`invalid ${name} ${quote(value)}`, `must be an integer number of milliseconds, ${min}-${max}`);
    canonical.set(name, String(settings[name]));
  }
  return { settings, canonical };
}

/** `text` as a whole number in `min`-`max`, or undefined (also for more than 10 digits). */
function bounded(text: string, min: number, max: number): number | undefined {
  const n = /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
  return n >= min && n <= max ? n : undefined;
}

/**
 * Applies `connect` options over the URL's settings, keeping an etcd lease TTL in step.
 * @throws CoordError `INVALID_ARGUMENT` for a value that is not an integer in range.
 */
export function applyOverrides(settings: MutableSettings, options: MutableOptions, overrides: unknown): void {
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
