// The master/worker story: a master crash elects a backup, a worker crash redelivers its task.
import { describe, expect, it } from '@jest/globals';
import { runTaskDemo } from '../src/tasks-demo.js';

describe('tasks demo', () => {
  it('finishes every task through a master crash and a worker crash', async () => {
    const lines: string[] = [];
    const result = await runTaskDemo({ url: 'memory://tasks-test', engines: 4, tasks: 12, log: (line) => lines.push(line) });
    expect(result.violations).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.done).toBe(12);
    expect(result.crashes).toBe(2);
    // Successive masters, each with a larger token; the first one crashed.
    expect(result.masters.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < result.masters.length; i += 1) expect(result.masters[i]!.token > result.masters[i - 1]!.token).toBe(true);
    // The crashed master's leadership signal aborted before the backup was elected.
    const masterCrash = lines.findIndex((line) => /CRASHES as master/.test(line));
    const aborted = lines.findIndex((line) => line.includes('leadership.signal aborted'));
    const backup = lines.findIndex((line, i) => i > masterCrash && / is elected master/.test(line));
    expect(masterCrash).toBeGreaterThanOrEqual(0);
    expect(aborted).toBeGreaterThan(masterCrash);
    expect(backup).toBeGreaterThan(aborted);
    // The worker's task in hand was delivered again and finished by someone else.
    const workerCrash = lines.find((line) => /CRASHES while running task \d+/.test(line));
    const task = /task (\d+)/.exec(workerCrash ?? '')?.[1];
    expect(task).toBeDefined();
    expect(result.redelivered).toContain(Number(task));
    expect(lines.some((line) => new RegExp(`finished task ${task}, acking it`).test(line))).toBe(true);
    // The operator saw both crashed engines leave the group by their sessions' expiry.
    expect(lines.filter((line) => /operator: group heat-engines: leave/.test(line)).length).toBeGreaterThanOrEqual(2);
  });
});
