// The dot1x applier: the device's wired 802.1X supplicant (wpa_supplicant, run by its own
// unit on `config_file`) uses the bound certificate and key. It checks the files first
// (in engine mode a bad file shows only as "PIN needed" ~60 s later), writes them and the
// config atomically, has the supplicant re-read it with `wpa_cli reconfigure` (never
// `reauthenticate`: that keeps the old key and certificate in memory), and waits for the
// port to be authorized. On failure the previous config is put back and re-read before it
// throws; the domain (domain/bindings.ts) then applies the binding on record again.
// `watch` tells certd when the supplicant's control socket comes back (its unit restarted
// it), so the binding on record is applied again while certd runs.
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file';
import { createLogger } from '../../common/log';
import type { Applier, BindingMaterial, ServiceKey, ServiceKeys } from './port';
import { baseConfig, supplicantConfig, type SupplicantFiles } from './supplicant-config';
import { WpaCli } from './wpa-cli';

export interface Dot1xConfig {
  /** wpa_cli's path. */
  wpa_cli: string;
  /** The wired interface the supplicant runs on. */
  interface: string;
  /** The supplicant's control socket folder (its own, nothing else in it). */
  ctrl_dir: string;
  /** The config file the supplicant's unit starts it with; certificate files go beside it in `<config_file>.d/`. */
  config_file: string;
  /** How long an authentication may take before the apply fails. */
  timeout_ms: number;
  /** EAPOL::startPeriod in seconds: how soon the supplicant retries after a failure (default 30). */
  start_period_s: number;
  /**
   * The command (argv) that restarts the supplicant's unit, e.g. `systemctl restart
   * wpa_supplicant-wired@eth0`: run when a config names another PKCS#11 module than the one
   * it replaces (OpenSSL's pkcs11 engine keeps the first module for the process's life).
   * Absent: the supplicant only re-reads its config, and a change of token module fails.
   */
  restart?: string[];
  /**
   * Where wpa_cli binds the socket the supplicant answers to (its default is /tmp). Under
   * systemd with PrivateTmp= certd's /tmp is its own, and every answer would be lost: the
   * firmware tree names certd's runtime folder.
   */
  client_dir?: string;
}

const SERVICE = 'dot1x';
const PEM = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g;
const log = createLogger('dot1x');

export class WpaSupplicantApplier implements Applier {
  private readonly cli: WpaCli;
  private readonly filesDir: string;
  /** The key the supplicant was last confirmed to use (null: none; undefined: not known since start). */
  private current: { keystore: string; key_id: string } | null | undefined;
  private readonly socket: string;
  /** While this applier restarts the supplicant itself, and the socket that restart made: not news to `watch`. */
  private restarting = false;
  private ownSocket: { ino: number; ctimeMs: number } | undefined;
  /**
   * A `watch` callback fired and no apply has started since: another return adds nothing
   * (a crash-looping supplicant queues one re-apply, not one a second). With no binding on
   * record nothing is applied, and nothing is lost: the next binding set applies.
   */
  private backPending = false;

  constructor(private readonly config: Dot1xConfig, private readonly keys: ServiceKeys) {
    this.cli = new WpaCli(config.wpa_cli, config.ctrl_dir, config.interface, config.client_dir);
    this.filesDir = `${config.config_file}.d`;
    this.socket = join(config.ctrl_dir, config.interface);
    mkdirSync(this.filesDir, { recursive: true, mode: 0o700 });
  }

  async apply(m: BindingMaterial): Promise<void> {
    this.backPending = false;
    const previous = existsSync(this.config.config_file) ? readFileSync(this.config.config_file) : undefined;
    let text: string | undefined;
    try {
      text = m.certificate && m.key ? await this.configFor(m, m.key) : supplicantConfig(this.config.ctrl_dir, '');
      writeFileAtomic(this.config.config_file, Buffer.from(text));
      await this.reload(previous?.toString('utf8') ?? '', text);
      if (m.certificate) await this.cli.waitAuthenticated(this.config.timeout_ms);
    } catch (e) {
      if (text !== undefined) {
        log.warn('the supplicant did not take the dot1x binding; its previous config is back', { error: (e as Error).message });
        const back = previous ?? Buffer.from(baseConfig(this.config.ctrl_dir).join('\n') + '\n');
        writeFileAtomic(this.config.config_file, back);
        await this.reload(text, back.toString('utf8')).catch(() => undefined);
      }
      // keystored may have written the new key's file: it goes, the one in use stays (none
      // known after a restart: all stay).
      if (this.current !== undefined) await this.keys.close(SERVICE, this.current ?? undefined).catch(() => undefined);
      throw e;
    }
    // The previous key's file goes only now: until here the previous config could come back.
    this.current = m.certificate && m.key ? m.key : null;
    await this.keys.close(SERVICE, this.current ?? undefined);
    this.prune(text);
  }

  /**
   * Calls `back` when the supplicant's control socket comes back (a new socket: its unit or
   * anyone restarted it, on whatever config is on flash), except after a restart this
   * applier made; returns the function that stops watching. A stat of the socket every
   * `intervalMs` (fs.watchFile), not inotify on ctrl_dir: the supplicant removes that folder
   * when it stops, and a watch on it ends there. Calls coalesce until the next apply starts.
   */
  watch(back: () => void, intervalMs = 1_000): () => void {
    const listener = (cur: Stats, prev: Stats) => {
      const fresh = cur.ino !== 0 && (cur.ino !== prev.ino || cur.ctimeMs !== prev.ctimeMs);
      const own = this.restarting || (this.ownSocket?.ino === cur.ino && this.ownSocket.ctimeMs === cur.ctimeMs);
      if (!fresh || own || this.backPending) return;
      this.backPending = true;
      back();
    };
    watchFile(this.socket, { interval: intervalMs, persistent: false }, listener);
    return () => unwatchFile(this.socket, listener);
  }

  /**
   * Has the supplicant take the config now written (`next`, replacing `current`): restarted
   * when `next` names a module `current` does not, otherwise `wpa_cli reconfigure`.
   */
  private async reload(current: string, next: string): Promise<void> {
    const module = moduleOf(next);
    if (this.config.restart && module !== undefined && module !== moduleOf(current)) {
      const [cmd, ...args] = this.config.restart;
      this.restarting = true;
      try {
        await new Promise<void>((resolve, reject) => execFile(cmd!, args, { timeout: this.config.timeout_ms }, (err) => (err ? reject(new Error(`the supplicant's restart failed: ${err.message}`)) : resolve())));
        await this.controlSocket();
        const st = statSync(this.socket);
        this.ownSocket = { ino: st.ino, ctimeMs: st.ctimeMs };
      } finally {
        this.restarting = false;
      }
    } else {
      await this.cli.run('set', 'EAPOL::startPeriod', String(this.config.start_period_s));
      await this.cli.run('reconfigure');
    }
  }

  /** Waits for a restarted supplicant's control socket, then sets its startPeriod. */
  private async controlSocket(): Promise<void> {
    const deadline = Date.now() + this.config.timeout_ms;
    for (;;) {
      try {
        await this.cli.run('set', 'EAPOL::startPeriod', String(this.config.start_period_s));
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Checks the binding's files, writes them (named by content: the previous config's stay), and the config text. */
  private async configFor(m: BindingMaterial, ref: { keystore: string; key_id: string }): Promise<string> {
    const chain = pems(m.certificate!, 'certificate');
    const cas = m.ca.flatMap((c) => pems(c, 'CA certificate'));
    const key = await this.keys.open(SERVICE, ref);
    checkKey(key);
    const files: SupplicantFiles = { clientCert: this.write('client', chain.join('')), key, ...(cas.length ? { caCert: this.write('ca', cas.join('')) } : {}) };
    // No identity set: the certificate's CN, as supplicants do.
    const identity = typeof m.settings.identity === 'string' ? m.settings.identity : /^CN=(.*)$/m.exec(new X509Certificate(chain[0]!).subject)?.[1] ?? 'anonymous';
    return supplicantConfig(this.config.ctrl_dir, identity, files);
  }

  private write(kind: string, pem: string): string {
    const path = join(this.filesDir, `${kind}-${createHash('sha256').update(pem).digest('hex').slice(0, 16)}.pem`);
    if (!existsSync(path)) writeFileAtomic(path, Buffer.from(pem), 0o644);
    return path;
  }

  /** Removes the certificate files the config in force no longer names. */
  private prune(config: string): void {
    for (const f of readdirSync(this.filesDir)) if (f.endsWith('.pem') && !config.includes(join(this.filesDir, f))) rmSync(join(this.filesDir, f), { force: true });
  }
}

/** Every certificate of `pem`, each parsed: a file the supplicant would choke on is refused here. */
function pems(pem: string, what: string): string[] {
  const all = pem.match(PEM) ?? [];
  if (!all.length) throw new Error(`no ${what} in the binding`);
  for (const p of all) new X509Certificate(p);
  return all.map((p) => (p.endsWith('\n') ? p : `${p}\n`));
}

/** The PKCS#11 module a supplicant config loads, if any. */
const moduleOf = (config: string) => /^pkcs11_module_path=(.*)$/m.exec(config)?.[1];

function checkKey(key: ServiceKey): void {
  const file = (p: string, what: string) => {
    if (!existsSync(p) || !statSync(p).isFile()) throw new Error(`the ${what} is not there`);
  };
  if (key.kind === 'file') file(key.path, 'key file');
  else {
    file(key.module, 'PKCS#11 module');
    file(key.pin_file, 'PIN file');
  }
}
