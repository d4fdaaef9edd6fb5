// The demo is the README's main job: run it in-process and through the real command line.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runDemo } from '../src/demo.js';

const main = fileURLToPath(new URL('../src/main.js', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('demo', () => {
  it('keeps one holder at a time through a crash, and fences the crashed holder', async () => {
    const lines: string[] = [];
    const result = await runDemo({ url: 'memory://demo-test', workers: 4, rounds: 3, log: (line) => lines.push(line) });
    expect(result.violations).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.crashes).toBe(1);
    expect(result.staleWritesFenced).toBe(1);
    expect(result.rejected).toBe(1);
    expect(result.accepted).toBe(4 * 3 - 2);
    const aborted = lines.findIndex((line) => line.includes('held.signal aborted'));
    const crash = lines.findIndex((line) => line.includes('CRASHES'));
    const nextHolder = lines.findIndex((line, i) => i > crash && / holds \/stack\/42/.test(line));
    expect(aborted).toBeGreaterThan(crash);
    expect(nextHolder).toBeGreaterThan(aborted);
  });

  it('runs from the command line and exits 0', () => {
    const run = cli('demo', '--workers', '2', '--rounds', '2', '--engines', '3', '--tasks', '6');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('stack story summary:');
    expect(run.stdout).toContain('tasks story summary:');
  });

  it('prints usage for --help, and exits 2 on a bad option', () => {
    expect(cli('--help').status).toBe(0);
    const bad = cli('demo', '--bogus');
    expect(bad.status).toBe(2);
    expect(bad.stderr.length).toBeGreaterThan(0);
    const story = cli('demo', '--story', 'nope');
    expect(story.status).toBe(2);
    expect(story.stderr).toContain('--story must be one of stack, tasks, all');
  });

  it('reports a bad URL by its code, without the password, and exits 1', () => {
    const run = cli('demo', '--url', 'zookeeper://admin:Canary-Secret@localhost:0');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('INVALID_URL');
    expect(run.stdout + run.stderr).not.toContain('Canary-Secret');
  });
});
