/** Argument checks done before any request, and the errors the driver builds itself. */
import { CoordError, MAX_NODE_DATA_BYTES, isBytes } from '@coord/core';
import type { IKeyValue } from 'etcd3';

export function badVersion(label: string, path: string, kv: IKeyValue, expected: number | undefined): CoordError {
  return new CoordError('BAD_VERSION', `${label}: ${path} is at version ${Number(kv.version) - 1}, not ${String(expected)}`);
}

export function checkData(data: Uint8Array, path: string, label: string): void {
  if (!isBytes(data)) throw new CoordError('INVALID_ARGUMENT', `${label}: data for ${path} must be a Uint8Array`);
  if (data.byteLength > MAX_NODE_DATA_BYTES) {
    throw new CoordError('PAYLOAD_TOO_LARGE', `${label}: data for ${path} is ${data.byteLength} bytes; the limit is ${MAX_NODE_DATA_BYTES}`);
  }
}

export function checkToken(token: bigint | undefined, path: string, label: string): void {
  if (token !== undefined && (typeof token !== 'bigint' || token <= 0n)) {
    throw new CoordError('INVALID_ARGUMENT', `${label}: token for ${path} must be a positive bigint (a create's token), got ${String(token)}`);
  }
}
