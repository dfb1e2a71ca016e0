// Token keys (TPM0, SE0) for nginx: one `p11-kit server` per token module owns the module,
// and nginx's pkcs11 engine loads p11-kit-client.so, which reaches it by a unix socket
// (P11_KIT_SERVER_ADDRESS). nginx must never load tpm2-pkcs11 itself: forked workers would
// share the master's TPM session (DESIGN.md, "Facts measured").
//
// The socket must be connectable by nginx's workers AND by root (the master and `nginx -t`
// load the key): libp11 0.4.12 opens new sessions in each worker after fork, and when that
// connect is refused (EACCES) it waits forever on a condition variable inside the first
// handshake (measured: gdb shows pthread_cond_wait under EVP_DigestSignFinal). `p11-kit
// server -u <worker>` checks the peer's uid and refuses root; so the server runs without
// -u and the socket itself is root:<workers' group> 0660 in a folder of the same mode.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file';
import { livePid } from '../../common/pid-file';

// Debian's multiarch folders (arm64 and armhf images; x86-64 here).
const LIB = `/usr/lib/${({ arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf' } as Record<string, string>)[process.arch] ?? 'x86_64-linux-gnu'}`;

/** What nginx's master must be started with to load token keys. */
export interface EngineEnv {
  OPENSSL_CONF: string;
  P11_KIT_SERVER_ADDRESS: string;
}

/** The token part of a key URI (`pkcs11:token=…`): what the server exports, nothing more. */
export function tokenOf(uri: string): string {
  const token = /^pkcs11:(?:[^?]*;)?(token=[^;?]+)/.exec(uri)?.[1];
  if (!token) throw new Error('the token key has no token= in its PKCS#11 URI');
  return `pkcs11:${token}`;
}

/** The key reference for ssl_certificate_key (libp11 reads keystored's PIN file; the PIN is never inlined). */
export function engineKey(uri: string, pinFile: string): string {
  return `engine:pkcs11:${uri};pin-source=file:${pinFile}`;
}


/** A p11-kit server someone else runs for `token` (`pkcs11:token=…`), on `socket`. */
export interface TokenServer {
  token: string;
  socket: string;
}

export class TokenServers {
  private readonly dir: string;

  /**
   * `group`: the workers' gid (none: nginx runs as certd's user, owner-only suffices).
   * `external`: the servers others run (firmware units); given, certd starts none.
   */
  constructor(prefix: string, private readonly group?: number, private readonly external?: TokenServer[]) {
    this.dir = join(prefix, 'p11');
    mkdirSync(this.dir, { recursive: true, mode: 0o750 });
    if (group !== undefined) chownSync(this.dir, 0, group);
    chmodSync(this.dir, group === undefined ? 0o700 : 0o750);
  }

  /** The environment nginx needs for `module`'s token: its server started if none runs. */
  async ensure(module: string, uri: string): Promise<EngineEnv> {
    const token = tokenOf(uri);
    const name = createHash('sha256').update(`${module}\n${token}`).digest('hex').slice(0, 16);
    const socket = join(this.dir, `${name}.sock`);
    const pidFile = join(this.dir, `${name}.pid`);
    const conf = join(this.dir, 'openssl.cnf');
    writeFileAtomic(conf, Buffer.from(opensslConf(LIB)), 0o644);
    if (this.external) {
      // Not certd's to start: as its own user it may not open the token (and should not).
      const theirs = this.external.find((t) => t.token === token)?.socket;
      if (theirs === undefined) throw new Error(`no p11-kit server is configured for ${token} (https.token_servers)`);
      if (!existsSync(theirs)) throw new Error(`the p11-kit server for ${token} is not running (no socket ${theirs})`);
      return { OPENSSL_CONF: conf, P11_KIT_SERVER_ADDRESS: `unix:path=${theirs}` };
    }
    const env = { OPENSSL_CONF: conf, P11_KIT_SERVER_ADDRESS: `unix:path=${socket}` };
    // Its command line names its socket (argv[0] is "server": p11-kit execs p11-kit-server).
    if (livePid(pidFile, socket) !== undefined && existsSync(socket)) return env;
    rmSync(socket, { force: true });
    // Detached: nginx outlives certd, and so must the server its workers talk to.
    const child = spawn('p11-kit', ['server', '-f', '-n', socket, '--provider', module, token], { detached: true, stdio: 'ignore' });
    child.unref();
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    let code: number | null | undefined;
    void exited.then((c) => { code = c; });
    for (let i = 0; i < 400 && !existsSync(socket) && code === undefined; i++) await new Promise((r) => setTimeout(r, 25));
    if (!existsSync(socket)) {
      if (child.pid !== undefined && code === undefined) process.kill(child.pid, 'SIGTERM');
      throw new Error(`p11-kit server did not start for ${token} (${code === undefined ? 'no socket after 10 s' : `exit ${code}`})`);
    }
    if (this.group !== undefined) chownSync(socket, 0, this.group);
    chmodSync(socket, this.group === undefined ? 0o600 : 0o660);
    writeFileSync(pidFile, String(child.pid));
    return env;
  }

  /** Stops every server this prefix started (with nginx: nothing else talks to them). */
  stopAll(): void {
    if (!existsSync(this.dir)) return;
    for (const f of readdirSync(this.dir)) {
      if (!f.endsWith('.pid')) continue;
      const pid = livePid(join(this.dir, f), join(this.dir, f.replace(/\.pid$/, '.sock')));
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      rmSync(join(this.dir, f), { force: true });
      rmSync(join(this.dir, f.replace(/\.pid$/, '.sock')), { force: true });
    }
  }
}

// init = 1 and an explicit MODULE_PATH: otherwise the engine loads p11-kit-proxy, i.e. every
// registered module, tpm2-pkcs11 included (DESIGN.md). `lib`: the multiarch folder (the
// firmware build writes the target's).
export const opensslConf = (lib: string) => `# Written by certd (src/certd/appliers/nginx-token.ts): nginx's pkcs11 engine on p11-kit-client.
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = ${lib}/engines-3/pkcs11.so
MODULE_PATH = ${lib}/pkcs11/p11-kit-client.so
init = 1
`;
