// The device's root password as certd keeps it (SPS management/root_password): a salted
// scrypt hash (node:crypto), never the password, in <data_dir>/root-password, written
// atomically by the batch that commits it. A configured hook (sps.root_password_hook, off
// by default) gets the hash on stdin after the commit, to apply it to the OS.
import { spawn } from 'node:child_process';
import { randomBytes, scryptSync } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file';

export const ROOT_PASSWORD_FILE = 'root-password';
/** scrypt cost: N = 2^14, r = 8, p = 1 (16 MiB, OpenSSL's maxmem default is 32 MiB). */
const LOG_N = 14;
const R = 8;
const P = 1;
const HOOK_MS = 30_000;

/** `$scrypt$ln=14,r=8,p=1$<salt, base64>$<32-byte key, base64>` (PHC string form). */
export function hashRootPassword(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, { N: 2 ** LOG_N, r: R, p: P });
  return `$scrypt$ln=${LOG_N},r=${R},p=${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export function writeRootPassword(dataDir: string, hash: string): void {
  writeFileAtomic(join(dataDir, ROOT_PASSWORD_FILE), Buffer.from(`${hash}\n`));
}

/**
 * The hook, one run at a time in commit order: two quick commits must reach the OS in the
 * order they were stored, or the OS could end on the older password while certd keeps the
 * newer hash.
 */
export class RootPasswordHook {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly argv: string[], private readonly failed: (wording: string) => void) {}

  /** Queues a run with `hash`; resolves when that run has ended. */
  push(hash: string): Promise<void> {
    this.tail = this.tail.then(async () => {
      const failure = await runHook(this.argv, hash);
      if (failure) this.failed(failure);
    });
    return this.tail;
  }
}

/** Runs the hook (argv, no shell) with the hash on stdin; resolves to its failure's wording, or undefined. */
function runHook(argv: string[], hash: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'ignore'], timeout: HOOK_MS });
    child.once('error', (e) => resolve(e.message));
    child.once('exit', (code, signal) => resolve(code === 0 ? undefined : `exit ${code ?? signal}`));
    child.stdin.on('error', () => undefined);
    child.stdin.end(`${hash}\n`);
  });
}
