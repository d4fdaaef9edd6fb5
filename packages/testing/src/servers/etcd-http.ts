/**
 * etcd's v3 API through its JSON gateway (`POST /v3/...` on the client port, which etcd 3.4
 * serves next to gRPC): enough for probes, leader lookup and lease revocation without a
 * gRPC client. Each call opens and closes its own connection (no pooled sockets or timers
 * outlive it).
 */
import { get, request } from 'node:http';
import type { Endpoint } from './net.js';

/** etcd's keys and values are bytes, base64 in JSON. */
export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** An error answer of the gateway (`{ error, code, message }`). */
export class EtcdHttpError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** The gRPC status code, when given. */
  readonly grpcCode: number | undefined;

  constructor(status: number, body: string) {
    let parsed: { code?: number; message?: string; error?: string } = {};
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      // not JSON
    }
    super(`etcd: HTTP ${status}: ${parsed.message ?? parsed.error ?? body.slice(0, 200)}`);
    this.name = 'EtcdHttpError';
    this.status = status;
    this.grpcCode = parsed.code;
  }
}

/**
 * Calls `path` (e.g. `/v3/kv/range`) with a JSON body.
 * @throws EtcdHttpError for an error answer; Error on network failure or abort.
 */
export function etcdCall<T>(endpoint: Endpoint, path: string, body: object, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      {
        host: endpoint.host,
        port: endpoint.port,
        path,
        method: 'POST',
        agent: false,
        signal,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), connection: 'close' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return reject(new EtcdHttpError(status, text));
          try {
            resolve(JSON.parse(text) as T);
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The fields of `/v3/maintenance/status` used here (uint64s come as decimal strings). */
export interface EtcdStatus {
  readonly header: { readonly member_id: string };
  readonly leader?: string;
}

/** The fields of `/v3/cluster/member/list` used here. */
export interface EtcdMemberList {
  readonly members: readonly { readonly ID: string; readonly name?: string; readonly clientURLs?: readonly string[] }[];
}

/**
 * Reads one gauge (e.g. `etcd_debugging_mvcc_watcher_total`) from the client port's
 * Prometheus `/metrics`.
 * @throws Error if the metric is absent or the request fails.
 */
export function etcdMetric(endpoint: Endpoint, name: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host: endpoint.host, port: endpoint.port, path: '/metrics', agent: false, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const line = Buffer.concat(chunks)
          .toString('utf8')
          .split('\n')
          .find((text) => text.startsWith(`${name} `));
        if (line === undefined) reject(new Error(`etcd: no metric ${name}`));
        else resolve(Number(line.slice(name.length + 1)));
      });
    });
    req.on('error', reject);
  });
}
