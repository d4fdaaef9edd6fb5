// Guard: every backend Coord knows has a conformance leg that CI runs. Each leg starts its
// real server and runs the suite through the backend's driver — or, while that driver is not
// built yet, says so as a todo (see leg.ts) — so a backend can be neither forgotten nor
// silently skipped.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DRIVER_PACKAGES, type BackendName } from '@coord/core';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const scripts = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
const jestConfig = ((await import(pathToFileURL(`${root}jest.config.js`).href)) as {
  default: { projects: { displayName: string; testMatch: string[] }[] };
}).default;

describe('conformance legs', () => {
  for (const backend of Object.keys(DRIVER_PACKAGES) as BackendName[]) {
    it(`${backend}: has a leg, a Jest project running it, and a test:${backend} script`, () => {
      expect(existsSync(`${here}/${backend}.test.js`)).toBe(true);
      const project = jestConfig.projects.find((p) => p.displayName === backend);
      expect(project?.testMatch).toContain(`<rootDir>/test/conformance/dist/test/${backend}.test.js`);
      expect(scripts[`test:${backend}`]).toMatch(new RegExp(`--selectProjects ${backend}$`));
    });
  }
  it('the root test script runs every project', () => {
    expect(scripts['test']).not.toMatch(/--selectProjects/);
  });
});
