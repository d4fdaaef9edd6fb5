import { connect } from 'coord';
import { startRedis } from '@coord/testing';
const N = Number(process.argv[2] ?? 1000);
const server = await startRedis();
const coord = await connect(`${server.url}?prefix=herd`);
const other = await connect(`${server.url}?prefix=herd`);
const held = await other.lock('/l').acquire();
const t0 = performance.now();
const codes = {};
let maxMs = 0;
await Promise.all(Array.from({ length: N }, async () => {
  try { const l = await coord.lock('/l').acquire({ timeout: 2000 }); codes.granted = (codes.granted ?? 0) + 1; await l.release(); }
  catch (e) { codes[e.code] = (codes[e.code] ?? 0) + 1; }
  maxMs = Math.max(maxMs, performance.now() - t0);
}));
console.log('N', N, 'all settled after', Math.round(performance.now() - t0), 'ms', codes);
for (const wait of [0, 1000, 3000]) {
  await new Promise((r) => setTimeout(r, wait));
  console.log('children after +', wait, (await other.driver.children('/l')).nodes.length);
}
await held.release();
await coord.close(); await other.close();
await server.stop();
