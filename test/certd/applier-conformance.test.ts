// The Applier conformance suite (applier-conformance.ts) against every applier there is:
// the record-only applier certd uses until a service has a live one, and a file applier
// with a consumer that can be made to refuse (the shape of the live appliers: write the
// service's files, then have the service take them), and the dot1x applier driving a real
// wpa_supplicant on a wired 802.1X network (dot1x-net.ts). nginx runs it in nginx.test.ts.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordOnlyApplier } from '../../src/certd/appliers/record-only';
import { KeystoredServiceKeys } from '../../src/certd/appliers/service-keys';
import { WpaCli } from '../../src/certd/appliers/wpa-cli';
import { WpaSupplicantApplier, type Dot1xConfig } from '../../src/certd/appliers/wpa-supplicant';
import { applierConformance, refusableKeys } from './applier-conformance';
import { makeDot1xNet, type Dot1xNet } from './dot1x-net';
import { FileApplier } from './file-applier';

applierConformance('record only', 'https', (dir) => {
  const file = (name: string) => join(dir, `${name}.json`);
  return {
    applier: new RecordOnlyApplier(dir),
    inUse: async (name) => (existsSync(file(name)) ? (JSON.parse(readFileSync(file(name), 'utf8')) as { certificate_sha256: string | null }).certificate_sha256 : null),
    // Its consumer is the file: a folder in its place cannot be replaced.
    breakConsumer: () => {
      rmSync(file('https'), { force: true });
      mkdirSync(file('https'));
      writeFileSync(join(file('https'), 'x'), '');
    },
    repairConsumer: () => rmSync(file('https'), { recursive: true }),
  };
});

applierConformance('files and a service that reloads them', 'dot1x', (dir) => {
  const applier = new FileApplier(dir);
  return {
    applier,
    inUse: async (name) => applier.service.serving(name),
    breakConsumer: () => { applier.service.refusing = true; },
    repairConsumer: () => { applier.service.refusing = false; },
  };
});

// Every part of the contract holds for the supplicant: "in use" is what both ends agree on
// (the supplicant's port authorized, hostapd authorized the CN of the client certificate
// the config in force names), and a consumer that refuses is a key that does not match the
// certificate (the supplicant never finishes the TLS exchange: the apply's timeout_ms ends
// it, so that case takes 30 s). The "restart" of the crash case is a new applier over the
// same files while the supplicant keeps running.
let net: Dot1xNet | undefined;
applierConformance('wpa_supplicant on a wired 802.1X network', 'dot1x', async (dir, keystores) => {
  mkdirSync(dir, { recursive: true });
  const config: Dot1xConfig = { wpa_cli: 'wpa_cli', interface: '', ctrl_dir: join(dir, 'ctrl'), config_file: join(dir, 'wpa_supplicant.conf'), timeout_ms: 30_000, start_period_s: 3 };
  if (!net) {
    net = await makeDot1xNet();
    writeFileSync(config.config_file, `ctrl_interface=${config.ctrl_dir}\nap_scan=0\n`);
    await net.startSupplicant(config.config_file);
  }
  const n = net;
  config.interface = n.iface;
  const cli = new WpaCli('wpa_cli', config.ctrl_dir, n.iface);
  const keys = refusableKeys(new KeystoredServiceKeys(keystores));
  return {
    applier: new WpaSupplicantApplier(config, keys.keys),
    inUse: async () => {
      const s = await cli.status();
      const cert = /^\tclient_cert="(.*)"$/m.exec(readFileSync(config.config_file, 'utf8'))?.[1];
      if (s.pae !== 'AUTHENTICATED' || s.port !== 'Authorized' || !cert) return null;
      const leaf = new X509Certificate(readFileSync(cert));
      const sta = n.hostapdCli('all_sta');
      const cn = /^CN=(.*)$/m.exec(leaf.subject)?.[1];
      if (!sta.includes(`dot1xAuthSessionUserName=${cn}\n`) || !/dot1xAuthAuthControlledPortStatus=1/.test(sta)) return null;
      return createHash('sha256').update(leaf.raw).digest('hex');
    },
    breakConsumer: () => { keys.refusing = true; },
    repairConsumer: () => { keys.refusing = false; },
    network: { caPem: n.serverCaPem, sign: (csr) => n.ca.sign(csr) },
    stop: () => n.stop(),
  };
});
