/**
 * The child process of the process-pause cases (see `paused-client.ts`). Arguments: the
 * backend URL, the session timeout in ms, and the paths as JSON. It prints JSON lines on
 * stdout — `{"held": tokens}`, then `{"report": report}` — and reads commands from stdin:
 * `long` or `short` (the parent resumed it after a pause of that kind), then `exit`. It exits
 * 0 after closing its coordinator; anything else (a crash, a signal) is the failure the cases
 * look for.
 */
import { createInterface } from 'node:readline';
import { connect } from 'coord';
import { PausedClient, type PausePaths } from './paused-client.js';

const [url, sessionTimeout, pathsJson] = process.argv.slice(2);
if (url === undefined || sessionTimeout === undefined || pathsJson === undefined) {
  throw new Error('usage: child.js URL SESSION_TIMEOUT_MS PATHS_JSON');
}
const send = (line: object): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const coord = await connect(url, { sessionTimeout: Number(sessionTimeout) });
const client = new PausedClient(coord, JSON.parse(pathsJson) as PausePaths);
send({ held: await client.hold() });

for await (const command of createInterface({ input: process.stdin })) {
  if (command === 'long') send({ report: await client.afterLongPause() });
  else if (command === 'short') send({ report: await client.afterShortPause() });
  else if (command === 'exit') break;
}
await coord.close();
process.exit(0);
