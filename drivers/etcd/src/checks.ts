/** Argument checks done before any request, and the errors the driver builds itself. */
import { CoordError, MAX_NODE_DATA_BYTES, isBytes, type CreateOptions } from '@coord/core';
import type { IKeyValue } from 'etcd3';

/** `BAD_VERSION`: the node `kv` is not at the version asked for. */
export function badVersion(label: string, path: string, kv: IKeyValue, expected: number | undefined): CoordError {
  return new CoordError('BAD_VERSION', `${label}: ${path} is at version ${Number(kv.version) - 1}, not ${String(expected)}`);
}

/** Data must be bytes within `MAX_NODE_DATA_BYTES` (`INVALID_ARGUMENT`, `PAYLOAD_TOO_LARGE`). */
export function checkData(data: Uint8Array, path: string, label: string): void {
  if (!isBytes(data)) throw new CoordError('INVALID_ARGUMENT', `${label}: data for ${path} must be a Uint8Array`);
  if (data.byteLength > MAX_NODE_DATA_BYTES) {
    throw new CoordError('PAYLOAD_TOO_LARGE', `${label}: data for ${path} is ${data.byteLength} bytes; the limit is ${MAX_NODE_DATA_BYTES}`);
  }
}

/** A token, if given, must be a positive bigint (`INVALID_ARGUMENT`). */
export function checkToken(token: bigint | undefined, path: string, label: string): void {
  if (token !== undefined && (typeof token !== 'bigint' || token <= 0n)) {
    throw new CoordError('INVALID_ARGUMENT', `${label}: token for ${path} must be a positive bigint (a create's token), got ${String(token)}`);
  }
}

/** Throws the parent-related reason a create failed, if it was that (`parentKv`: the parent as the failure branch read it). */
export function parentFailure(label: string, parent: string, parentKv: IKeyValue | undefined, options: CreateOptions): void {
  if (parent === '/') return;
  if (parentKv === undefined && options.requireParent === true) {
    throw new CoordError('NO_NODE', `${label}: parent ${parent} does not exist`);
  }
  if (parentKv !== undefined && parentKv.lease !== '0') {
    throw new CoordError('INVALID_ARGUMENT', `${label}: ${parent} is ephemeral and cannot have children`);
  }
}
