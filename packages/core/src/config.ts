/**
 * A parsed connection URL. Produced by `parseUrl` (see `url.ts`); consumed by `connect` and
 * by each driver's `createDriver`. Safe to log: the password is a {@link Secret}.
 */
import type { BackendName, DriverSettings } from './driver.js';
import type { Secret } from './secret.js';

/** URL schemes Coord accepts. */
export type Scheme = 'memory' | 'zookeeper' | 'etcd' | 'etcds' | 'redis' | 'rediss';

/** One `host:port` of a URL. */
export interface HostPort {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** TCP port, 1–65535 (the backend's default when the URL gives none). */
  readonly port: number;
}

/** Options that only some backends take. */
export interface BackendOptions {
  /** etcd: lease TTL in whole seconds (`?ttl=10`); also sets `sessionTimeout`. */
  readonly ttlSeconds?: number;
  /** Redis: key prefix (`?prefix=app`). */
  readonly prefix?: string;
  /** Redis: database number (`/0`). */
  readonly db?: number;
  /** memory: the store's name (`memory://name`); every coordinator naming it shares it. */
  readonly storeName?: string;
}

/** A connection URL, parsed and validated. */
export interface ConnectionConfig {
  /** The URL's scheme. */
  readonly scheme: Scheme;
  /** The backend the scheme selects. */
  readonly backend: BackendName;
  /** Whether to use TLS (`etcds`, `rediss`). */
  readonly tls: boolean;
  /** The hosts, in URL order (empty for memory). */
  readonly hosts: readonly HostPort[];
  /** User name for authentication, percent-decoded. */
  readonly username?: string;
  /** Password, percent-decoded, wrapped so it never prints. */
  readonly password?: Secret;
  /**
   * The namespace every path is relative to: ZooKeeper chroot or etcd key prefix
   * (`'/app'`), `''` for none.
   */
  readonly namespace: string;
  /** Timeouts, with defaults filled in. */
  readonly settings: DriverSettings;
  /** Backend-specific options. */
  readonly options: BackendOptions;
  /** The URL with the password replaced by `***` — the only form to print. */
  readonly redacted: string;
}
