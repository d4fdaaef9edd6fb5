// Jest runs the compiled ESM output (`tsc -b` first), with `--experimental-vm-modules`:
// no transform step, and the packages are loaded through their real `exports` maps.
const common = {
  testEnvironment: 'node',
  transform: {},
  testPathIgnorePatterns: ['/node_modules/'],
  setupFilesAfterEnv: ['<rootDir>/test/jest-setup.js'],
};

// Projects that start real servers (ZooKeeper, etcd, Redis from Debian's packages): slower,
// so they get more time per test. Under CI=true a missing server fails them.
const withServers = { ...common, testTimeout: 180_000 };

/** @type {import('jest').Config} */
export default {
  testTimeout: 30_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{packages,drivers,recipes}/**/dist/test/**/*.test.js'],
      // @coord/testing's own tests start real servers: they are the `servers` project.
      testPathIgnorePatterns: [...common.testPathIgnorePatterns, '<rootDir>/packages/testing/'],
    },
    {
      ...withServers,
      displayName: 'servers',
      testMatch: ['<rootDir>/packages/testing/dist/test/**/*.test.js'],
    },
    {
      ...common,
      displayName: 'memory',
      testMatch: ['<rootDir>/test/conformance/dist/test/memory.test.js', '<rootDir>/test/conformance/dist/test/guard.test.js'],
    },
    {
      ...withServers,
      displayName: 'zookeeper',
      testMatch: [
        '<rootDir>/test/conformance/dist/test/zookeeper.test.js',
        '<rootDir>/test/conformance/dist/test/zookeeper-ensemble.test.js',
        '<rootDir>/test/conformance/dist/test/zookeeper-driver.test.js',
      ],
    },
    {
      ...withServers,
      displayName: 'etcd',
      testMatch: [
        '<rootDir>/test/conformance/dist/test/etcd.test.js',
        '<rootDir>/test/conformance/dist/test/etcd-cluster.test.js',
        '<rootDir>/test/conformance/dist/test/etcd-driver.test.js',
      ],
    },
    {
      ...withServers,
      displayName: 'redis',
      testMatch: ['<rootDir>/test/conformance/dist/test/redis.test.js', '<rootDir>/test/conformance/dist/test/redis-driver.test.js'],
    },
  ],
};
