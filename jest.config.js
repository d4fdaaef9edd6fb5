// Jest runs the compiled ESM output (`tsc -b` first), with `--experimental-vm-modules`:
// no transform step, and the packages are loaded through their real `exports` maps.
const common = {
  testEnvironment: 'node',
  transform: {},
  testPathIgnorePatterns: ['/node_modules/'],
  setupFilesAfterEnv: ['<rootDir>/test/jest-setup.js'],
};

/** @type {import('jest').Config} */
export default {
  testTimeout: 30_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/{packages,drivers,recipes}/**/dist/test/**/*.test.js'],
    },
    {
      ...common,
      displayName: 'memory',
      testMatch: ['<rootDir>/test/conformance/dist/test/memory.test.js', '<rootDir>/test/conformance/dist/test/guard.test.js'],
    },
  ],
};
