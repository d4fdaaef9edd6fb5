/**
 * The authority: `[user[:pass]@]host[:port][,host[:port]...]`. The user info is the only part
 * that may hold a secret, so it is cut off first, at the one `@`, and never quoted; everything
 * after the `@` is safe to quote.
 */
import type { HostPort, Scheme } from '../config.js';
import { checkHostName, isIPv6 } from './address.js';
import type { Credentials } from './grammar.js';
import { CONTROL_RE, SCHEMES } from './grammar.js';
import type { Fail } from './redact.js';
import { quote } from './redact.js';

/** An authority cut at its `@`: the raw (still encoded) user info, if any, and the host list. */
export interface Authority {
  readonly userinfo: string | undefined;
  readonly hostText: string;
}

/** Cuts the user info off `authority`; fails on a second `@` without echoing either side. */
export function splitAuthority(authority: string, fail: Fail): Authority {
  const lastAt = authority.lastIndexOf('@');
  if (authority.indexOf('@') !== lastAt) {
    fail("more than one '@'", "percent-encode '@' in a user name or password as %40");
  }
  return {
    userinfo: lastAt < 0 ? undefined : authority.slice(0, lastAt),
    hostText: authority.slice(lastAt + 1),
  };
}

/**
 * Decodes `user[:pass]`. Only Redis takes a password without a user name; `memory` takes no
 * user info at all. Messages name what is wrong, never the text.
 */
export function parseUserInfo(userinfo: string | undefined, scheme: Scheme, fail: Fail): Credentials {
  if (userinfo === undefined) return { username: undefined, password: undefined };
  if (scheme === 'memory') fail('user info', 'memory:// URLs take no user name or password');
  const colon = userinfo.indexOf(':');
  const rawUser = colon < 0 ? userinfo : userinfo.slice(0, colon);
  const rawPass = colon < 0 ? undefined : userinfo.slice(colon + 1);
  const user = decode(rawUser, () => fail('malformed percent-escape in the user name'));
  const pass = rawPass === undefined ? '' : decode(rawPass, () => fail('malformed percent-escape in the password'));
  if (CONTROL_RE.test(user)) fail('control character in the user name');
  // A lone surrogate cannot be encoded again (for `redacted`) nor sent to a server.
  if (LONE_SURROGATE_RE.test(user)) fail('the user name is not well-formed Unicode');
  if (LONE_SURROGATE_RE.test(pass)) fail('the password is not well-formed Unicode');
  if (user === '' && pass === '') fail("empty user info before '@'");
  if (user === '' && SCHEMES[scheme].backend !== 'redis') {
    fail('missing user name', `${scheme} needs a user name with a password (user:pass@)`);
  }
  return { username: user === '' ? undefined : user, password: pass === '' ? undefined : pass };
}

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** `decodeURIComponent`, calling `onError` (which throws) for a malformed escape. */
function decode(text: string, onError: () => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return onError();
  }
}

/** Parses `h1[:p1],[v6][:p2],...`, lower-casing hosts and filling in `defaultPort`. */
export function parseHosts(text: string, defaultPort: number, fail: Fail): HostPort[] {
  if (text === '') fail('empty host', 'give at least one host[:port]');
  const hosts: HostPort[] = [];
  const seen = new Set<string>();
  for (const entry of text.split(',')) {
    const { host, portText } = entry.startsWith('[') ? splitBracketed(entry, fail) : splitPlain(entry, fail);
    const port = portText === undefined ? defaultPort : parsePort(portText, host, fail);
    const key = `${host}|${port}`;
    if (seen.has(key)) fail(`duplicate host ${quote(hostPortText({ host, port }))}`);
    seen.add(key);
    hosts.push({ host, port });
  }
  return hosts;
}

/** `host:port`, with an IPv6 host in brackets — as in a URL. */
export function hostPortText({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** One host entry: the checked, lower-cased host and the port text, if any. */
interface HostEntry {
  readonly host: string;
  readonly portText: string | undefined;
}

/** Splits and checks `[ipv6]` or `[ipv6]:port`. */
function splitBracketed(entry: string, fail: Fail): HostEntry {
  const close = entry.indexOf(']');
  if (close < 0) fail(`unclosed '[' in host ${quote(entry)}`);
  const host = entry.slice(1, close);
  const after = entry.slice(close + 1);
  if (after !== '' && !after.startsWith(':')) {
    fail(`invalid host ${quote(entry)}`, "expected [ipv6] or [ipv6]:port");
  }
  const portText = after === '' ? undefined : after.slice(1);
  if (!isIPv6(host)) fail(`invalid IPv6 address ${quote(host)}`);
  return { host: host.toLowerCase(), portText };
}

/** Splits and checks `name`, `name:port`, `ipv4` or `ipv4:port`. */
function splitPlain(entry: string, fail: Fail): HostEntry {
  const colon = entry.indexOf(':');
  if (colon >= 0 && entry.indexOf(':', colon + 1) >= 0) {
    fail(`invalid host ${quote(entry)}`, 'put an IPv6 address in brackets: [::1]:2181');
  }
  const host = colon < 0 ? entry : entry.slice(0, colon);
  const portText = colon < 0 ? undefined : entry.slice(colon + 1);
  if (host === '') fail('empty host', "every host in the comma-separated list needs a name (e.g. 'h1,h2')");
  const hostProblem = checkHostName(host);
  if (hostProblem !== undefined) fail(`invalid host ${quote(host)}`, hostProblem);
  return { host: host.toLowerCase(), portText };
}

/** A TCP port, 1-65535; `host` (already lower-cased) only names it in the message. */
function parsePort(portText: string, host: string, fail: Fail): number {
  const n = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(n >= 1 && n <= 65_535)) fail(`invalid port ${quote(portText)} for host ${quote(host)}`, 'must be 1-65535');
  return n;
}
