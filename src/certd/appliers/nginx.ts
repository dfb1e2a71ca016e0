// The https applier: nginx serves the binding's certificate. Each apply writes the chain
// (and CA) files beside the ones in use, has keystored put the key where nginx reads it,
// rewrites the TLS include atomically, checks the whole config with `nginx -t` (which loads
// the key), signals the master with SIGHUP (`nginx -s reload` would load keys in the
// signalling process) or starts it, and confirms with a TLS handshake that the new leaf is
// served. Any failure puts the previous include back, signals again and throws: the domain
// then records and applies the previous binding (domain/bindings.ts).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../../common/atomic-file';
import { livePid } from '../../common/pid-file';
import { gidOf, uidsOf } from '../../common/system-accounts';
import { siteConfig, tlsInclude, type NginxSite } from './nginx-config';
import { engineKey, TokenServers, type EngineEnv } from './nginx-token';
import type { Applier, BindingMaterial, ServiceKeys } from './port';

const run = promisify(execFile);
const SERVICE = 'https';
const CONFIRMATIONS = 5;

export interface NginxOptions extends NginxSite {
  /** The nginx binary. */
  nginx: string;
  /** The workers' uid/gid: the key file keystored writes is theirs. */
  owner?: { uid: number; gid: number };
  /** How long the new certificate may take to be served after the signal. */
  confirmMs?: number;
}

const sha256 = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');
const leafOf = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)?.[0];
const derOf = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');

export class NginxApplier implements Applier {
  private readonly conf: string;
  private readonly tls: string;
  private readonly tokens: TokenServers;
  /** The key nginx was last confirmed to use (released files keep it). */
  private current: { keystore: string; key_id: string } | undefined;

  constructor(private readonly o: NginxOptions, private readonly keys: ServiceKeys) {
    this.conf = join(o.prefix, 'conf');
    this.tls = join(o.prefix, 'tls');
    for (const d of [this.conf, this.tls, join(o.prefix, 'logs'), join(o.prefix, 'tmp')]) mkdirSync(d, { recursive: true, mode: 0o755 });
    this.tokens = new TokenServers(o.prefix, o.owner?.gid);
  }

  async apply(m: BindingMaterial): Promise<void> {
    const leaf = m.certificate === undefined ? undefined : leafOf(m.certificate);
    if (!leaf || !m.key) throw new Error('nginx cannot serve HTTPS without a certificate and its key');
    const want = sha256(derOf(leaf));
    const includePath = join(this.conf, 'tls.conf');
    const previous = existsSync(includePath) ? readFileSync(includePath) : undefined;
    let chain: string | undefined;
    let ca: string | undefined;
    let written = false;
    try {
      const key = await this.keys.open(SERVICE, m.key, this.o.owner);
      // Token keys: the engine behind a p11-kit server; a master started without that server's
      // address in its environment (or another's) is restarted, a HUP keeps its environment.
      const engine = key.kind === 'pkcs11' ? await this.tokens.ensure(key.module, key.uri) : undefined;
      const keyRef = key.kind === 'pkcs11' ? engineKey(key.uri, key.pin_file) : key.path;
      chain = this.writeAside('chain', m.certificate!);
      ca = m.ca.length > 0 ? this.writeAside('ca', m.ca.join('')) : undefined;
      const include = tlsInclude({ chain, key: keyRef, ca, settings: m.settings });
      writeFileAtomic(join(this.conf, 'nginx.conf'), Buffer.from(siteConfig(this.o)), 0o644);
      written = true;
      writeFileAtomic(includePath, Buffer.from(include), 0o644);
      const env = engine ?? this.startedWith();
      await this.check(env);
      if (engine && this.startedWith()?.P11_KIT_SERVER_ADDRESS !== engine.P11_KIT_SERVER_ADDRESS) await this.stopMaster();
      await this.signalOrStart(env);
      await this.confirm(want);
    } catch (e) {
      if (written) await this.restore(includePath, previous);
      // keystored may have written the new key's file: it goes, the one in use stays (none
      // known after a restart: all stay).
      if (this.current) await this.keys.close(SERVICE, this.current).catch(() => undefined);
      throw e;
    }
    this.current = m.key;
    await this.keys.close(SERVICE, m.key);
    this.removeUnused([chain, ca]);
  }

  /** The master's pid, if one runs for this prefix. */
  masterPid(): number | undefined {
    return livePid(join(this.o.prefix, 'nginx.pid'), 'nginx: master process');
  }

  /** Stops the master and its token servers (tests; certd's shutdown is not it: nginx outlives certd). */
  async stop(): Promise<void> {
    await this.stopMaster();
    this.tokens.stopAll();
  }

  private async stopMaster(): Promise<void> {
    const pid = this.masterPid();
    if (pid === undefined) return;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 200 && this.masterPid() !== undefined; i++) await new Promise((r) => setTimeout(r, 25));
  }

  private args(): string[] {
    return ['-p', this.o.prefix + '/', '-c', join(this.conf, 'nginx.conf')];
  }

  /** The engine environment the running master was started with, if any (kept beside its pid). */
  private startedWith(): EngineEnv | undefined {
    if (this.masterPid() === undefined) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.conf, 'engine.json'), 'utf8')) as EngineEnv;
    } catch {
      return undefined;
    }
  }

  private async check(engine: EngineEnv | undefined): Promise<void> {
    try {
      await run(this.o.nginx, ['-t', '-q', ...this.args()], { timeout: 30_000, env: { ...process.env, ...engine } });
    } catch (e) {
      const err = (e as { stderr?: string }).stderr ?? '';
      throw new Error(`nginx -t refused the TLS configuration: ${lastLine(err)}`);
    }
  }

  private async signalOrStart(engine: EngineEnv | undefined): Promise<void> {
    const pid = this.masterPid();
    if (pid !== undefined) {
      process.kill(pid, 'SIGHUP');
      return;
    }
    const record = join(this.conf, 'engine.json');
    if (engine) writeFileAtomic(record, Buffer.from(JSON.stringify(engine)), 0o644);
    else rmSync(record, { force: true });
    try {
      await run(this.o.nginx, this.args(), { timeout: 30_000, env: { ...process.env, ...engine } });
    } catch (e) {
      throw new Error(`nginx did not start: ${lastLine((e as { stderr?: string }).stderr ?? '')}`);
    }
  }

  /**
   * Handshakes until the leaf served is `want` CONFIRMATIONS times in a row: after a HUP the
   * old workers still accept a few connections with the old certificate while the new ones
   * start (~0.1-0.3 s measured), so one new leaf seen is not yet "served".
   */
  private async confirm(want: string): Promise<void> {
    const deadline = Date.now() + (this.o.confirmMs ?? 15_000);
    let seen: string | null = null;
    let inRow = 0;
    while (Date.now() < deadline) {
      seen = await servedLeaf(this.o.host, this.o.port);
      inRow = seen === want ? inRow + 1 : 0;
      if (inRow === CONFIRMATIONS) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`nginx did not serve the new certificate within ${this.o.confirmMs ?? 15_000} ms (serving ${seen ?? 'nothing'})`);
  }

  private async restore(includePath: string, previous: Buffer | undefined): Promise<void> {
    if (previous) writeFileAtomic(includePath, previous, 0o644);
    else rmSync(includePath, { force: true });
    const pid = this.masterPid();
    if (pid !== undefined) process.kill(pid, 'SIGHUP');
  }

  /** `<kind>-<sha256>.pem`: a new file beside the one in use, never over it. */
  private writeAside(kind: string, pem: string): string {
    const path = join(this.tls, `${kind}-${createHash('sha256').update(pem).digest('hex').slice(0, 32)}.pem`);
    writeFileAtomic(path, Buffer.from(pem), 0o644);
    return path;
  }

  private removeUnused(keep: (string | undefined)[]): void {
    for (const f of readdirSync(this.tls)) {
      const path = join(this.tls, f);
      if (!keep.includes(path)) rmSync(path, { force: true });
    }
  }
}

/**
 * The applier certd's config asks for: nginx proxying to certd's listener. As root the
 * workers run as `user` and the key file is theirs; otherwise nginx runs as certd's user.
 */
export function nginxApplier(https: { nginx: string; prefix: string; host: string; port: number; user: string }, upstream: { host: string; port: number }, keys: ServiceKeys): NginxApplier {
  const root = process.getuid?.() === 0;
  const owner = root ? { uid: uidsOf([https.user])[0]!, gid: gidOf(https.user) } : undefined;
  const host = upstream.host === '0.0.0.0' ? '127.0.0.1' : upstream.host === '::' ? '::1' : upstream.host;
  return new NginxApplier({ ...https, ...(root ? { user: https.user, owner } : { user: undefined }), upstream: { host, port: upstream.port } }, keys);
}

/** SHA-256 (hex) of the leaf a TLS server at host:port presents; null if no handshake. */
export function servedLeaf(host: string, port: number, timeoutMs = 5000): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect({ host, port, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      const raw = s.getPeerCertificate().raw;
      s.destroy();
      resolve(raw ? sha256(raw) : null);
    });
    s.on('error', () => resolve(null));
    s.on('timeout', () => {
      s.destroy();
      resolve(null);
    });
  });
}

const lastLine = (text: string) => text.trim().split('\n').pop()?.replace(/^nginx: /, '').slice(0, 300) ?? '';
