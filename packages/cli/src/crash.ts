/**
 * Simulated crashes of a lock holder. The interesting crash is the one a lock cannot see
 * coming: a process that stops heartbeating (a GC pause, a frozen VM, a dead host) while it
 * believes it holds the lock. The memory driver can stage exactly that; other backends
 * cannot be paused from inside the process, so there the crash is a close without release.
 */
import type { MemoryDriver } from '@coord/memory';
import type { Coordinator } from 'coord';

/**
 * Makes `coord`'s holder "crash" and says how, for the log. Its leases' signals abort
 * afterwards: at once for a close, at the session's local deadline for a pause.
 * @example `log(`worker-2 crashes: ${crash(coord)}`)`
 */
export function crash(coord: Coordinator): string {
  const driver = coord.driver;
  // Duck-typed: importing @coord/memory at runtime would defeat lazy driver loading.
  if (driver.name === 'memory' && typeof (driver as Partial<MemoryDriver>).stopRenewing === 'function') {
    (driver as MemoryDriver).stopRenewing();
    return 'it stops heartbeating (a paused or dead process), so its session will expire';
  }
  // Closing ends the session on the server, which is as close to a crash as we can get here.
  void coord.close();
  return `${driver.name} has no pause hook, so it is simulated by closing its coordinator without releasing`;
}

/** Resolves with the signal's reason once it aborts (at once if it already has). */
export function untilAborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => {
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}
