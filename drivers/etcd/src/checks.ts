/** Argument checks done before any request, and the errors the driver builds itself. */
import { CoordError, type CreateOptions } from '@coord/core';
import type { IKeyValue } from 'etcd3';

/** `BAD_VERSION`: the node `kv` is not at the version asked for. */
export function badVersion(label: string, path: string, kv: IKeyValue, expected: number | undefined): CoordError {
  return new CoordError('BAD_VERSION', `${label}: ${path} is at version ${Number(kv.version) - 1}, not ${String(expected)}`);
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
