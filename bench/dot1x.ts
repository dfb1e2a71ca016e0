// The 802.1X section: on the tests' wired network (hostapd as the switch in a network
// namespace, wpa_supplicant in another; test/certd/dot1x-net.ts), certd with its dot1x
// config: PUT /certd/v1/bindings/dot1x alternating two SOFTWARE0 entries the network's CA
// signed, timed to the answer (certd answers once the port is authorized), and a binding
// the network refuses, timed to its 502 (given once the previous binding is authenticated
// again). Needs root (network namespaces).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { enrolledEntry, makeDot1xNet } from '../test/certd/dot1x-net';
import { API, startService } from '../test/certd/service';
import { type Section, table } from './lib';
import { percentiles } from './service';

export const dot1xSection: Section = {
  name: 'dot1x',
  async run(opts) {
    if (process.getuid?.() !== 0) return { text: 'dot1x: skipped (network namespaces need root)\n', json: { skipped: 'not root' } };
    const n = Math.max(6, Math.round(opts.minTime * 4));
    const net = await makeDot1xNet();
    try {
      const ctrl = join(net.dir, 'supplicant-ctrl');
      const configFile = join(net.dir, 'wpa_supplicant.conf');
      writeFileSync(configFile, `ctrl_interface=${ctrl}\nap_scan=0\n`);
      await net.startSupplicant(configFile);
      const svc = await startService({ certd: { dot1x: { wpa_cli: 'wpa_cli', interface: net.iface, ctrl_dir: ctrl, config_file: configFile } } });
      try {
        const admin = svc.as('admin');
        if ((await admin.post(`${API}/ca_certificates`, { alias: 'network ca', certificate: net.serverCaPem })).status !== 201) throw new Error('dot1x: CA upload failed');
        if ((await admin.post(`${API}/ca_certificates`, { alias: 'other ca', certificate: net.untrusted.certPem })).status !== 201) throw new Error('dot1x: CA upload failed');
        for (const a of ['cam-a', 'cam-b']) await enrolledEntry(admin, a, 'SOFTWARE0', (csr) => net.ca.sign(csr));
        await enrolledEntry(admin, 'cam-refused', 'SOFTWARE0', (csr) => net.untrusted.sign(csr));
        const bind = async (alias: string, status: number) => {
          const t0 = performance.now();
          const r = await admin.call('PUT', '/certd/v1/bindings/dot1x', { data: { certificate: alias, ca: ['network ca'], settings: { identity: alias } } });
          if (r.status !== status) throw new Error(`dot1x: ${alias}: ${r.status} ${r.text}`);
          return performance.now() - t0;
        };
        const change: number[] = [];
        for (let i = 0; i < n; i++) change.push(await bind(i % 2 ? 'cam-b' : 'cam-a', 200));
        const refused: number[] = [];
        for (let i = 0; i < Math.max(2, n / 3); i++) refused.push(await bind('cam-refused', 502));
        const json = { change: percentiles(change), refused: percentiles(refused) };
        const row = (label: string, p: ReturnType<typeof percentiles>) => [label, `${(p.p50_ms / 1000).toFixed(2)} s`, `${(p.p99_ms / 1000).toFixed(2)} s`, String(p.n)];
        return {
          text: table(['operation', 'p50', 'p99', 'n'], [
            row('802.1X: binding change -> AUTHENTICATED (SOFTWARE0)', json.change),
            row('802.1X: refused binding -> 502, previous AUTHENTICATED again', json.refused),
          ]),
          json,
        };
      } finally {
        await svc.stop();
      }
    } finally {
      await net.stop();
    }
  },
};
