import { connect } from 'coord';
import { startRedis } from '@coord/testing';
const N = Number(process.argv[2] ?? 1000);
const server = await startRedis();
const stats = {};
const t0 = performance.now();
const wrap = (d) => new Proxy(d, { get(t, k) {
  const v = Reflect.get(t, k, t);
  if (typeof v !== 'function' || !['create','createSequential','get','children','set','delete'].includes(k)) return typeof v === 'function' ? v.bind(t) : v;
  return async (...a) => { const s = performance.now(); const st = (stats[k] ??= { n: 0, err: {}, max: 0, lastEnd: 0 });
    try { return await v.apply(t, a); } catch (e) { st.err[e.code] = (st.err[e.code] ?? 0) + 1; throw e; }
    finally { st.n++; st.max = Math.max(st.max, performance.now() - s); st.lastEnd = Math.round(performance.now() - t0); } };
} });
const coord = await connect(`${server.url}?prefix=herd`, { wrapDriver: wrap });
const other = await connect(`${server.url}?prefix=herd`);
const held = await other.lock('/l').acquire();
const codes = {};
await Promise.all(Array.from({ length: N }, async () => {
  try { const l = await coord.lock('/l').acquire({ timeout: 2000 }); codes.granted = (codes.granted ?? 0) + 1; await l.release(); }
  catch (e) { codes[e.code] = (codes[e.code] ?? 0) + 1; }
}));
console.log('N', N, 'all settled after', Math.round(performance.now() - t0), 'ms', codes);
console.log(JSON.stringify(stats));
await new Promise((r) => setTimeout(r, 1000));
console.log('children', (await other.driver.children('/l')).nodes.length, JSON.stringify(stats));
await held.release();
await coord.close(); await other.close();
await server.stop();
