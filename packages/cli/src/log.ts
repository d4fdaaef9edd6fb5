/** One line per event, stamped with the seconds since the run started. */

/** Prints one event line. */
export type Log = (line: string) => void;

/**
 * A log that writes `  1.23s  <line>` to `out`.
 * @example `const log = createLog(); log('worker-1 holds /stack/42 (token 5)');`
 */
export function createLog(out: NodeJS.WritableStream = process.stdout): Log {
  const start = performance.now();
  return (line) => {
    const seconds = ((performance.now() - start) / 1000).toFixed(2).padStart(6);
    out.write(`${seconds}s  ${line}\n`);
  };
}

/**
 * The message of an error, safe to print: a `CoordError` message is already redacted, and
 * anything else is scrubbed of `scheme://user:pass@` credentials as a second line of defence.
 */
export function describeError(error: unknown): string {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  const scrubbed = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s/@:]*):[^\s@]*@/gi, '$1:***@');
  return typeof code === 'string' ? `${code}: ${scrubbed}` : scrubbed;
}
