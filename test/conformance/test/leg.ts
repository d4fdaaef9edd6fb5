// One conformance leg per real backend (zookeeper.test.ts, etcd.test.ts, redis.test.ts): the
// leg starts a real server from @coord/testing — under CI=true a server that is missing or
// does not start FAILS the leg — and runs the whole suite on it with the backend's driver.
// Until that driver package exists the leg still starts the server (so CI proves it runs)
// and then reports, as a todo, that the driver is not built yet: it never pretends to pass.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import 'coord'; // registers the built-in drivers' loaders
import { DRIVER_PACKAGES, isCoordError, loadDriver } from '@coord/core';
import {
  describeLeaks,
  expireDriverSession,
  missingServer,
  proxyTarget,
  serverAvailable,
  serverStats,
  type ClusterHandle,
  type ServerHandle,
} from '@coord/testing';
import { conformance } from '../src/index.js';

/** A real backend to bind. */
export interface Leg {
  readonly backend: 'zookeeper' | 'etcd' | 'redis';
  /** Shown in test titles: `zookeeper`, `zookeeper ensemble of 3`. */
  readonly title?: string;
  /** Whether `start` gives a cluster (so members can be killed). */
  readonly clustered?: boolean;
  /** Starts the server (or cluster) the suite runs against. */
  start(): Promise<ServerHandle | ClusterHandle>;
}

/**
 * Why the backend's driver cannot be loaded: its package is not installed (not built yet).
 * A driver that is installed but fails to load is an error, not a todo.
 */
async function driverMissing(backend: Leg['backend']): Promise<string | undefined> {
  try {
    await loadDriver(backend);
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    // Node says ERR_MODULE_NOT_FOUND; Jest's resolver, which loads modules here, MODULE_NOT_FOUND.
    const notFound = cause?.code === 'ERR_MODULE_NOT_FOUND' || cause?.code === 'MODULE_NOT_FOUND';
    const absent = notFound && String(cause?.message).includes(`'${DRIVER_PACKAGES[backend]}'`);
    if (isCoordError(error, 'UNSUPPORTED') && absent) return (error as Error).message;
    throw error;
  }
}

/** Crashes every member (SIGKILL) and restarts it on its port and data; waits until it answers. */
async function restartBackend(target: ServerHandle | ClusterHandle): Promise<void> {
  if (!('members' in target)) {
    await target.kill();
    await target.restart();
    return;
  }
  // A member cannot answer without its quorum: bring them all back, then wait for a leader.
  for (const member of target.members) await member.kill();
  await Promise.all(target.members.map((_, index) => target.restart(index, { waitUntilReady: false })));
  await target.leader();
}

/** Kills the leader or a follower of a cluster; returns how to bring it back. */
async function killMember(target: ServerHandle | ClusterHandle, role: 'leader' | 'follower'): Promise<() => Promise<void>> {
  if (!('members' in target)) throw new Error('killMember needs a cluster');
  const leader = await target.leader();
  const index = role === 'leader' ? leader : (leader + 1) % target.members.length;
  await target.kill(index);
  return async () => {
    await target.restart(index);
    await target.leader();
  };
}

/** Registers the leg's tests (call once, at the top level of the leg's file). */
export async function leg(spec: Leg): Promise<void> {
  const { backend } = spec;
  const title = spec.title ?? backend;
  const pkg = DRIVER_PACKAGES[backend];
  if (!serverAvailable(backend)) {
    // Only outside CI (serverAvailable throws under CI=true): say why, visibly.
    describe.skip(`conformance on ${title}: ${missingServer(backend)}`, () => {
      it.todo('install the server to run this leg');
    });
    return;
  }
  let server: ServerHandle | ClusterHandle | undefined;
  const current = (): ServerHandle | ClusterHandle => {
    if (server === undefined) throw new Error(`the ${backend} server is not running`);
    return server;
  };
  if ((await driverMissing(backend)) === undefined) {
    conformance({
      name: title,
      setup: async () => {
        server = await spec.start();
      },
      teardown: async () => {
        await server?.stop();
      },
      url: () => current().url,
      sharedAcrossProcesses: true,
      faults: {
        expireSession: (driver) => expireDriverSession(current(), driver),
        proxy: () => proxyTarget(current()),
        restartBackend: () => restartBackend(current()),
        ...(spec.clustered === true ? { killMember: (role: 'leader' | 'follower') => killMember(current(), role) } : {}),
      },
      leaks: async () => describeLeaks(await serverStats(current())),
    });
    return;
  }
  describe(`conformance on ${title}`, () => {
    beforeAll(async () => {
      server = await spec.start();
    });
    afterAll(async () => {
      await server?.stop();
    });
    it(`a real ${title} starts and answers, with no client state`, async () => {
      const started = current();
      const members = 'members' in started ? started.members : [started];
      expect(members.map((member) => member.state)).toEqual(members.map(() => 'running'));
      expect(describeLeaks(await serverStats(current()))).toEqual([]);
    });
    it.todo(`${title}: driver ${pkg} is not built yet, so the conformance suite does not run on it`);
  });
}
