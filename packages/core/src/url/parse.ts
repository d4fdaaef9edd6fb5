/**
 * The whole URL: checks what no part may contain, reads the scheme, cuts the rest into
 * authority, path and query, hands each to its parser, and assembles the frozen config.
 */
import type { ConnectionConfig, Scheme } from '../config.js';
import type { DriverSettings } from '../driver.js';
import { CoordError } from '../errors.js';
import { Secret } from '../secret.js';
import { parseUserInfo, splitAuthority } from './authority.js';
import { CONTROL_RE, KNOWN_SCHEMES_TEXT, PREFIX, SCHEMES, SPACE_RE } from './grammar.js';
import { applyOverrides, parseQuery, readQueryOptions } from './query.js';
import type { Fail } from './redact.js';
import { failer, quote, renderRedacted } from './redact.js';
import { parseTarget } from './target.js';

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
  const raw = requireUrlString(url);
  const fail = failer(raw);
  checkCharacters(raw, fail);
  const { scheme, rest } = parseScheme(raw, fail);
  const { authority, path, query } = splitRest(rest, fail);
  const { userinfo, hostText } = splitAuthority(authority, fail);
  const credentials = parseUserInfo(userinfo, scheme, fail);
  const target = parseTarget(scheme, hostText, path, fail);
  const { settings, canonical } = readQueryOptions(parseQuery(query, scheme, fail), target.options, fail);
  applyOverrides(settings, target.options, overrides);
  const redacted = renderRedacted(scheme, credentials, target.shown, canonical);

  const { username, password } = credentials;
  const config: ConnectionConfig = {
    scheme,
    backend: SCHEMES[scheme].backend,
    tls: SCHEMES[scheme].tls,
    hosts: Object.freeze(target.hosts.map((h) => Object.freeze(h))),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password: new Secret(password) }),
    namespace: target.namespace,
    settings: Object.freeze(settings),
    options: Object.freeze(target.options),
    redacted,
  };
  return Object.freeze(config);
}

/** `url` if it is a non-empty string; these messages cannot echo it, so they name its type. */
function requireUrlString(url: unknown): string {
  if (typeof url !== 'string') {
    const kind = url === null ? 'null' : Array.isArray(url) ? 'array' : typeof url;
    throw new CoordError('INVALID_URL', `${PREFIX}expected a URL string, got ${kind}`);
  }
  if (url.length === 0) {
    throw new CoordError('INVALID_URL', `${PREFIX}empty URL (expected one of ${KNOWN_SCHEMES_TEXT})`);
  }
  return url;
}

/** Refuses characters no part of a URL may hold. */
function checkCharacters(raw: string, fail: Fail): void {
  if (CONTROL_RE.test(raw)) fail('control character', 'URLs must not contain control characters');
  if (SPACE_RE.test(raw)) fail('space', 'URLs must not contain spaces or other whitespace');
  if (raw.includes('#')) {
    fail("'#' fragment", "URLs take no '#' fragment (percent-encode '#' in a user name or password as %23)");
  }
}

/** The scheme, matched case-insensitively, and what follows its `://`. */
function parseScheme(raw: string, fail: Fail): { readonly scheme: Scheme; readonly rest: string } {
  const sep = raw.indexOf('://');
  if (sep < 0) fail("missing scheme ('://')", `expected one of ${KNOWN_SCHEMES_TEXT}`);
  const schemeText = raw.slice(0, sep);
  const schemeLower = schemeText.toLowerCase();
  if (!Object.hasOwn(SCHEMES, schemeLower)) {
    // Quote only what looks like a scheme; other text before '://' may hold user info.
    const shown = /^[A-Za-z][A-Za-z0-9+.-]{0,31}$/.test(schemeText) ? ` ${quote(schemeText)}` : '';
    fail(`unknown scheme${shown}`, `expected one of ${KNOWN_SCHEMES_TEXT}`);
  }
  return { scheme: schemeLower as Scheme, rest: raw.slice(sep + 3) };
}

/** The text after `://`, cut at the first `/` and the first `?`. */
interface Parts {
  readonly authority: string;
  /** With its leading `/`; undefined if there is none. */
  readonly path: string | undefined;
  /** Without its `?`; undefined if there is none. */
  readonly query: string | undefined;
}

/** Cuts `authority [/path] [?query]`. */
function splitRest(rest: string, fail: Fail): Parts {
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
  return { authority, path, query };
}
