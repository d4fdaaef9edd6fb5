/**
 * How a URL may appear in a message: the raw input only through {@link redactUrl}, other
 * fragments only through {@link quote}, and a parsed URL only in its canonical form with the
 * password as `***`. Every echo goes through this file, which is what keeps a password out of
 * messages, log lines and stacks.
 */
import type { Scheme } from '../config.js';
import { CoordError } from '../errors.js';
import type { Credentials } from './grammar.js';
import { CONTROL_RE_G, MAX_ECHO, OPTION_ORDER, PREFIX } from './grammar.js';

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
export function quote(fragment: string, max = 40): string {
  const cut = fragment.length > max ? `${fragment.slice(0, max)}…` : fragment;
  return JSON.stringify(cut.replace(CONTROL_RE_G, '?'));
}

/**
 * Throws `INVALID_URL` for one URL. `problem` and `detail` may embed only fixed text and
 * {@link quote}d fragments that cannot hold the password.
 */
export type Fail = (problem: string, detail?: string) => never;

/** The {@link Fail} for `raw`: the message names the problem and echoes `raw` redacted. */
export function failer(raw: string): Fail {
  return (problem, detail) => {
    throw new CoordError(
      'INVALID_URL',
      `${PREFIX}${problem} in ${redactUrl(raw)}${detail === undefined ? '' : `: ${detail}`}`,
    );
  };
}

/**
 * The canonical form of a parsed URL: lower-case scheme, user name re-encoded, password as
 * `***`, then `target` (hosts with ports and path, or the store name) and the options in
 * {@link OPTION_ORDER}.
 * @example renderRedacted('redis', { username: 'u', password: 'pw' }, 'h:6379', new Map()) // 'redis://u:***@h:6379'
 */
export function renderRedacted(
  scheme: Scheme,
  credentials: Credentials,
  target: string,
  options: ReadonlyMap<string, string>,
): string {
  const { username, password } = credentials;
  let redacted = `${scheme}://`;
  if (username !== undefined || password !== undefined) {
    redacted += `${username === undefined ? '' : encodeURIComponent(username)}${password === undefined ? '' : ':***'}@`;
  }
  redacted += target;
  const query = OPTION_ORDER.filter((n) => options.has(n)).map((n) => `${n}=${options.get(n)}`);
  if (query.length > 0) redacted += `?${query.join('&')}`;
  return redacted;
}
