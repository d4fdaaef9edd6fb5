// Guard: every backend Coord knows must bind the conformance suite, or say plainly that its
// driver is not built yet. A driver package that is installed without a binding fails here.
import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { DRIVER_PACKAGES, type BackendName } from '@coord/core';

const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(import.meta.url);

function installed(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

describe('conformance bindings', () => {
  for (const [backend, pkg] of Object.entries(DRIVER_PACKAGES) as [BackendName, string][]) {
    const bound = existsSync(`${here}/${backend}.test.js`);
    if (!bound && !installed(pkg)) {
      // Visible in every run's output until the driver exists.
      it.todo(`${backend}: driver ${pkg} is not built yet, so the conformance suite does not run on it`);
      continue;
    }
    it(`${backend}: ${pkg} is bound to the conformance suite`, () => {
      expect(bound).toBe(true);
    });
  }
});
