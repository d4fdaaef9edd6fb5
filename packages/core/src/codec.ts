/**
 * Codecs turn user values into the bytes drivers store. The default is JSON, so strings,
 * numbers and plain objects round-trip; {@link rawCodec} passes bytes through.
 */
import { CoordError } from './errors.js';

/** Encodes values of type `T` to bytes and back. */
export interface Codec<T> {
  /** To bytes. @throws CoordError `INVALID_ARGUMENT` if the value cannot be encoded. */
  encode(value: T): Uint8Array;
  /** From bytes. @throws CoordError `INVALID_ARGUMENT` if the bytes are not a valid encoding. */
  decode(bytes: Uint8Array): T;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** JSON in UTF-8. `undefined` encodes as an empty value and decodes back to `undefined`. */
export const jsonCodec: Codec<unknown> = Object.freeze({
  encode(value: unknown): Uint8Array {
    if (value === undefined) return new Uint8Array(0);
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw new CoordError('INVALID_ARGUMENT', 'json codec: value cannot be encoded', { cause: error });
    }
    if (text === undefined) throw new CoordError('INVALID_ARGUMENT', 'json codec: value cannot be encoded');
    return encoder.encode(text);
  },
  decode(bytes: Uint8Array): unknown {
    if (bytes.length === 0) return undefined;
    try {
      return JSON.parse(decoder.decode(bytes)) as unknown;
    } catch (error) {
      throw new CoordError('INVALID_ARGUMENT', 'json codec: stored value is not JSON', { cause: error });
    }
  },
});

/** Bytes in, bytes out. */
export const rawCodec: Codec<Uint8Array> = Object.freeze({
  encode: (value: Uint8Array): Uint8Array => value,
  decode: (bytes: Uint8Array): Uint8Array => bytes,
});

/** An empty payload (recipes whose nodes carry no data). */
export const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Whether `value` is a `Uint8Array` (a `Buffer` counts). Checks the tag rather than the
 * prototype, because arrays made in another realm (a Jest sandbox, a worker) fail
 * `instanceof`.
 */
export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array || (ArrayBuffer.isView(value) && Object.prototype.toString.call(value) === '[object Uint8Array]');
}
