// The README's TypeScript examples, run as written: each ```ts block is transpiled and
// executed against the built `coord` package, so the README cannot drift from the API.
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const coordEntry = pathToFileURL(join(root, 'packages/coord/dist/src/index.js')).href;
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
const workDir = mkdtempSync(join(tmpdir(), 'coord-readme-'));

/** Transpiles one example and imports it (top-level await runs it to completion). */
async function run(source: string, index: number): Promise<string[]> {
  const { outputText, diagnostics } = ts.transpileModule(source, {
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'] },
  });
  expect(diagnostics ?? []).toEqual([]);
  const file = join(workDir, `example-${index}.mjs`);
  writeFileSync(file, outputText.replaceAll(`from 'coord'`, `from '${coordEntry}'`));
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
  try {
    await import(pathToFileURL(file).href);
  } finally {
    log.mockRestore();
  }
  return lines;
}

/** What the examples print, keyed by a string that picks out the example. */
const EXPECTED: ReadonlyArray<readonly [marker: string, lines: unknown[]]> = [
  [
    "'/jobs/nightly'",
    ['got it: true', 'again: undefined', expect.stringMatching(/^busy, as expected: lock \/jobs\/nightly: timed out after 50 ms/), 'withLock ran: true'],
  ],
  ["coord.on('state'", ['connected 2000', expect.stringMatching(/: connected -> closed$/)]],
  ["rwlock('/settings')", ['two readers: true', 'late reader: undefined', 'writer token is the newest: true']],
  ["semaphore('/render'", ['peak concurrency: 2', 'disagreement refused: CONFLICT']],
  ["barrier('/deploy/freeze')", ['raised: true', 'freeze lifted, deploying', 'batch done by 3']],
  [
    "queue<Job>('/jobs')",
    ['took urgent.png and gave it back', 'resized urgent.png', 'resized a.png', 'resized b.png', 'left: 0'],
  ],
  [
    "election<string>('/services/billing')",
    ['leader: none', 'current: node-a', 'leader: node-a', 'took over: node-b true', 'leader: node-b', 'leader: none'],
  ],
  [
    "group<{ slots: number }>('workers')",
    ['{"worker-1":{"slots":4}} workers', 'join worker-1 {"slots":4}', 'update worker-1 {"slots":2}', 'leave worker-1 {"slots":2}'],
  ],
];

describe('README examples', () => {
  afterEach(() => {
    delete process.env['COORD_URL'];
  });

  it('has examples to run', () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) expect(example).toContain(`from 'coord'`);
  });

  it.each(examples.map((source, index) => [index, source] as const))('example %i runs', async (index, source) => {
    const lines = await run(source, index);
    const expected = EXPECTED.find(([marker]) => source.includes(marker));
    if (expected !== undefined) expect(lines).toEqual(expected[1]);
  });

  it('cleans up', () => {
    rmSync(workDir, { recursive: true, force: true });
  });
});
