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
import { connect as netConnect } from 'node:net';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../../common/atomic-file';
import { createLogger } from '../../common/log';
import { livePid } from '../../common/pid-file';
import { gidOf, uidsOf } from '../../common/system-accounts';
import { siteConfig, tlsInclude, type NginxSite } from './nginx-config';
import { engineKey, TokenServers, type EngineEnv, type TokenServer } from './nginx-token';
import type { Applier, BindingMaterial, ServiceKeys } from './port';

const run = promisify(execFile);
const log = createLogger('https');
const SERVICE = 'https';

export interface NginxOptions extends NginxSite {
  /** The nginx binary. */
  nginx: string;
  /** The workers' uid/gid: the key file keystored writes is theirs. */
  owner?: { uid: number; gid: number };
  /** How long the new certificate may take to be served after the signal. */
  confirmMs?: number;
  /**
   * The command (argv) that checks the config and reloads nginx, or starts it, when nginx is
   * not certd's to run (firmware: `systemctl reload-or-restart certd-nginx.service`, whose
   * reload runs `nginx -t` as the user that can load the key). Absent: certd runs `nginx -t`
   * and signals or starts the master itself.
   */
  reload?: string[];
  /** The master's pid file, when nginx's unit names another than `<prefix>/nginx.pid`. */
  pidFile?: string;
  /** p11-kit servers others run, by token: certd then starts none (nginx-token.ts). */
  tokenServers?: TokenServer[];
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
    this.tokens = new TokenServers(o.prefix, o.owner?.gid, o.tokenServers);
  }

  async apply(m: BindingMaterial): Promise<void> {
    const leaf = m.certificate === undefined ? undefined : leafOf(m.certificate);
    if (!leaf || !m.key) throw new Error('nginx cannot serve HTTPS without a certificate and its key');
    const want = sha256(derOf(leaf));
    const includePath = join(this.conf, 'tls.conf');
    // The site too: the connection policy (settings.http_listener; unset: on) is its plain server.
    const plain = m.settings.http_listener !== false && this.o.httpPort !== undefined;
    const previous = [join(this.conf, 'nginx.conf'), includePath].map((path) => ({ path, text: existsSync(path) ? readFileSync(path) : undefined }));
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
      writeFileAtomic(join(this.conf, 'nginx.conf'), Buffer.from(siteConfig(this.o, plain)), 0o644);
      written = true;
      writeFileAtomic(includePath, Buffer.from(include), 0o644);
      const env = engine ?? this.startedWith();
      await this.check(env);
      // A unit's nginx has the environment of its unit (fixed): certd may not stop it, and a restart changes nothing.
      if (engine && !this.o.reload && this.startedWith()?.P11_KIT_SERVER_ADDRESS !== engine.P11_KIT_SERVER_ADDRESS) await this.stopMaster();
      await this.confirm(want, await this.signalOrStart(env));
      await this.confirmPlain(plain);
    } catch (e) {
      if (written) await this.restore(previous);
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
    return livePid(this.o.pidFile ?? join(this.o.prefix, 'nginx.pid'), 'nginx: master process');
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
    if (this.o.reload) return; // the reload command checks
    try {
      await run(this.o.nginx, ['-t', '-q', ...this.args()], { timeout: 30_000, env: { ...process.env, ...engine } });
    } catch (e) {
      const err = (e as { stderr?: string }).stderr ?? '';
      throw new Error(`nginx -t refused the TLS configuration: ${lastLine(err)}`);
    }
  }

  /** HUPs the running master or starts one (or has its unit do it); returns the workers that ran before. */
  private async signalOrStart(engine: EngineEnv | undefined): Promise<number[]> {
    if (this.o.reload) {
      const master = this.masterPid();
      const old = master === undefined ? [] : childrenOf(master);
      await this.runReload();
      return old;
    }
    const pid = this.masterPid();
    if (pid !== undefined) {
      const old = childrenOf(pid);
      process.kill(pid, 'SIGHUP');
      return old;
    }
    const record = join(this.conf, 'engine.json');
    if (engine) writeFileAtomic(record, Buffer.from(JSON.stringify(engine)), 0o644);
    else rmSync(record, { force: true });
    try {
      await run(this.o.nginx, this.args(), { timeout: 30_000, env: { ...process.env, ...engine } });
    } catch (e) {
      throw new Error(`nginx did not start: ${lastLine((e as { stderr?: string }).stderr ?? '')}`);
    }
    return [];
  }

  /**
   * Waits until none of the workers from before the HUP accepts connections, then for one
   * handshake that serves `want`. After a HUP the master loads the new config, forks new
   * workers, waits 100 ms and then tells the old ones to quit; until then an old worker may
   * accept a new connection and serve the old leaf (0.1-0.3 s measured). A quitting worker
   * retitles itself "worker process is shutting down" and closes its listening sockets
   * before it next accepts, so from then on every new connection reaches a worker forked
   * with the new config. A master that refused the new config keeps its old workers: no
   * confirmation, the deadline ends it.
   * Once a new worker runs, the old ones are told to quit (SIGQUIT, what the master sends
   * them after its 100 ms) instead of waiting for the master: they share the listening
   * sockets with the new ones, so a connection they no longer take waits in the backlog for
   * a new worker. Where certd may not signal them (another user's nginx) the master does.
   */
  private async confirm(want: string, oldWorkers: number[]): Promise<void> {
    const deadline = Date.now() + (this.o.confirmMs ?? 15_000);
    let seen: string | null = null;
    let quit = false;
    while (Date.now() < deadline) {
      const old = oldWorkers.filter(accepting);
      if (old.length === 0) {
        seen = await servedLeaf(this.o.host, this.o.port);
        if (seen === want) return;
      } else if (!quit && this.newWorkerRuns(oldWorkers)) {
        quit = true;
        // Only pids that are still this master's children: a listed worker that exited and
        // whose pid went to another process is never signalled.
        const master = this.masterPid();
        const children = master === undefined ? [] : childrenOf(master);
        for (const pid of old) if (children.includes(pid)) signalQuietly(pid, 'SIGQUIT');
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`nginx did not serve the new certificate within ${this.o.confirmMs ?? 15_000} ms (serving ${seen ?? 'nothing'})`);
  }

  /** Whether the master runs a worker forked since `oldWorkers` were listed (it took the new config). */
  private newWorkerRuns(oldWorkers: number[]): boolean {
    const master = this.masterPid();
    return master !== undefined && childrenOf(master).some((pid) => !oldWorkers.includes(pid) && accepting(pid));
  }

  /**
   * The plain-HTTP port answers (`open`) or refuses connections, 3 times in a row: the
   * certificate confirmed does not say the new site's listeners are in place (a policy
   * change alone keeps the same leaf).
   */
  private async confirmPlain(open: boolean): Promise<void> {
    if (this.o.httpPort === undefined) return;
    const deadline = Date.now() + (this.o.confirmMs ?? 15_000);
    let inRow = 0;
    while (Date.now() < deadline) {
      inRow = (await accepts(this.o.host, this.o.httpPort)) === open ? inRow + 1 : 0;
      if (inRow === 3) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`nginx's plain HTTP port ${this.o.httpPort} did not ${open ? 'open' : 'close'} within ${this.o.confirmMs ?? 15_000} ms`);
  }

  private async restore(previous: { path: string; text: Buffer | undefined }[]): Promise<void> {
    for (const { path, text } of previous) {
      if (text) writeFileAtomic(path, text, 0o644);
      else rmSync(path, { force: true });
    }
    // The caller's error is the one to answer; a restore that fails too is said here, as
    // nginx may then go on serving what was refused.
    if (this.o.reload) await this.runReload().catch((e: Error) => log.error('nginx did not take the previous files back', { error: e.message }));
    else {
      const pid = this.masterPid();
      if (pid !== undefined) signalQuietly(pid, 'SIGHUP');
    }
  }

  private async runReload(): Promise<void> {
    const [cmd, ...args] = this.o.reload!;
    try {
      await run(cmd!, args, { timeout: 60_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`nginx's reload (${this.o.reload!.join(' ')}) failed: ${lastLine(err.stderr || err.message)}`);
    }
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
export function nginxApplier(https: { nginx: string; prefix: string; host: string; port: number; user: string; http_port?: number; reload?: string[]; pid_file?: string; token_servers?: TokenServer[] }, upstream: { host: string; port: number }, keys: ServiceKeys): NginxApplier {
  const root = process.getuid?.() === 0;
  const owner = root ? { uid: uidsOf([https.user])[0]!, gid: gidOf(https.user) } : undefined;
  const host = upstream.host === '0.0.0.0' ? '127.0.0.1' : upstream.host === '::' ? '::1' : upstream.host;
  const { http_port: httpPort, pid_file, token_servers: tokenServers, ...site } = https;
  return new NginxApplier({ ...site, ...(httpPort ? { httpPort } : {}), ...(pid_file ? { pidFile: pid_file } : {}), ...(tokenServers ? { tokenServers } : {}), ...(root ? { user: https.user, owner } : { user: undefined }), upstream: { host, port: upstream.port } }, keys);
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

/**
 * The pids whose parent is `pid`: its thread's children file (nginx's master has one thread)
 * where the kernel has CONFIG_PROC_CHILDREN, else a scan of every process (slower under load).
 */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter((p) => p !== '').map(Number);
  } catch {
    // no such file: the scan below
  }
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // exited while listed
    }
  }
  return out;
}

/** Whether `pid` is still an nginx worker that accepts connections (not gone, not quitting). */
function accepting(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '') === 'nginx: worker process';
  } catch {
    return false;
  }
}

/** Sends `signal` to `pid` if certd may; one that exited or is another user's is left alone. */
function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // ESRCH or EPERM: the master quits it in its own time
  }
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host, port, timeout: 5000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

const lastLine = (text: string) => text.trim().split('\n').pop()?.replace(/^nginx: /, '').slice(0, 300) ?? '';
