/**
 * Path rules shared by every driver and recipe, so a bad path fails with `INVALID_ARGUMENT`
 * before any request is sent, and the same path is valid on every backend.
 */
import { CoordError } from './errors.js';

/** Longest path accepted (ZooKeeper and etcd both take far more; this keeps keys sane). */
export const MAX_PATH_LENGTH = 1024;

// Control characters, and characters ZooKeeper forbids in paths.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/;

/**
 * Checks an absolute node path: starts with `/`, no empty, `.` or `..` segment, no trailing
 * slash (except the root `/`), no control characters.
 * @throws CoordError `INVALID_ARGUMENT` naming the problem.
 */
export function validatePath(path: unknown, what = 'path'): string {
  const fail = (why: string): never => {
    throw new CoordError('INVALID_ARGUMENT', `${what} ${JSON.stringify(path)}: ${why}`);
  };
  if (typeof path !== 'string') return fail('must be a string');
  if (path.length === 0) return fail('must not be empty');
  if (path.length > MAX_PATH_LENGTH) return fail(`longer than ${MAX_PATH_LENGTH} characters`);
  if (!path.startsWith('/')) return fail("must be absolute (start with '/')");
  if (FORBIDDEN.test(path)) return fail('contains a control or reserved character');
  if (path === '/') return path;
  if (path.endsWith('/')) return fail("must not end with '/'");
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') return fail("has an empty segment ('//')");
    if (segment === '.' || segment === '..') return fail(`has a '${segment}' segment`);
  }
  return path;
}

/**
 * Checks a node name (one path segment, e.g. a sequential prefix or a member id).
 * @throws CoordError `INVALID_ARGUMENT`.
 */
export function validateName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('/')) {
    throw new CoordError('INVALID_ARGUMENT', `${what} ${JSON.stringify(name)}: must be a non-empty string without '/'`);
  }
  validatePath(`/${name}`, what);
  return name;
}

/** Joins a directory and a child name: `joinPath('/a', 'b')` is `/a/b`. */
export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The parent directory: `parentPath('/a/b')` is `/a`, `parentPath('/a')` is `/`. */
export function parentPath(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

/** The last segment: `baseName('/a/b')` is `b`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
