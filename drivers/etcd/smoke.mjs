import { startEtcd, revokeEtcdLease } from '@coord/testing';
import { parseUrl } from '@coord/core';
import { createDriver } from '@coord/etcd';
const etcd = await startEtcd();
try {
  const d = await createDriver(parseUrl(etcd.url + '/ns?sessionTimeout=5000'));
  const other = await createDriver(parseUrl(etcd.url + '/ns?sessionTimeout=5000'));
  for (let i = 0; i < 5; i++) {
    const s = d.session;
    const t0 = performance.now();
    s.signal.addEventListener('abort', () => console.log('session aborted', (performance.now() - t0).toFixed(1), s.signal.reason.code));
    const r = await d.create('/a' + i, new Uint8Array(), { ephemeral: true });
    await other.create('/x' + i, new Uint8Array());
    const { changed } = await d.get('/a' + i, { watch: true });
    changed.then((e) => console.log('own watch', e, (performance.now() - t0).toFixed(1)));
    await new Promise((r) => setTimeout(r, 300));
    await revokeEtcdLease(etcd, s.id);
    console.log('revoke returned', (performance.now() - t0).toFixed(1), s.signal.aborted);
    await new Promise((r) => setTimeout(r, 500));
    console.log('new session', d.session.id !== s.id, d.session.state);
  }
  await d.close(); await other.close();
} finally { await etcd.stop(); }
