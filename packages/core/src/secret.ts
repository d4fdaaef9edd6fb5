/**
 * A string that refuses to be printed: `String()`, template literals, `JSON.stringify` and
 * `util.inspect` all show `***`. Only {@link Secret.reveal} returns the value, and only a
 * driver handing credentials to its native client should call it.
 */
const REDACTED = '***';
const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** A password (or other credential) that never appears in output. */
export class Secret {
  // A private field is invisible to inspect, JSON.stringify, Object.keys and spreading.
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself; pass it straight to a client, never to a message or log. */
  reveal(): string {
    return this.#value;
  }

  /** `***`. */
  toString(): string {
    return REDACTED;
  }

  /** `***`. */
  toJSON(): string {
    return REDACTED;
  }

  /** `***` for `util.inspect` and `console.log`. */
  [inspectSymbol](): string {
    return REDACTED;
  }
}
