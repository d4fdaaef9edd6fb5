/**
 * The checks every driver makes on a node operation's data and token before any request,
 * written once (they were four copies). Drivers name themselves in `label`, e.g.
 * `zookeeper`, `memory conformance`, so the message says which backend refused.
 */
import { isBytes } from './codec.js';
import { MAX_NODE_DATA_BYTES } from './driver.js';
import { CoordError } from './errors.js';

/**
 * Checks a node's data: bytes, at most {@link MAX_NODE_DATA_BYTES} (a ZooKeeper server drops
 * the connection instead of answering past its `jute.maxbuffer`; the others follow suit).
 * @throws CoordError `INVALID_ARGUMENT` unless it is a Uint8Array; `PAYLOAD_TOO_LARGE` past the limit.
 */
export function checkNodeData(data: unknown, path: string, label: string): Uint8Array {
  if (!isBytes(data)) throw new CoordError('INVALID_ARGUMENT', `${label}: data for ${path} must be a Uint8Array`);
  if (data.byteLength > MAX_NODE_DATA_BYTES) {
    throw new CoordError('PAYLOAD_TOO_LARGE', `${label}: data for ${path} is ${data.byteLength} bytes; the limit is ${MAX_NODE_DATA_BYTES}`);
  }
  return data;
}

/**
 * Checks the `token` a `set` or `delete` is conditioned on: absent, or a create's token.
 * @throws CoordError `INVALID_ARGUMENT` unless it is undefined or a positive bigint.
 */
export function checkNodeToken(token: unknown, path: string, label: string): bigint | undefined {
  if (token !== undefined && (typeof token !== 'bigint' || token <= 0n)) {
    throw new CoordError('INVALID_ARGUMENT', `${label}: token for ${path} must be a positive bigint (a create's token), got ${String(token)}`);
  }
  return token;
}
