// The key-store simulators (swtpm + tpm2-abrmd + tpm2-pkcs11 for TPM0, SoftHSM2 for SE0)
// for the tests, through scripts/simulators.sh in a folder of the test's own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'simulators.sh');

export interface Simulators {
  dir: string;
  /** The variables of DIR/env: what keystored's environment needs. */
  env: Record<string, string>;
  /** The config entries of TPM0 and SE0 for keystored. */
  stores: Record<string, unknown>[];
  pins(): string[];
  /** TPM reset; with powerLoss, no orderly TPM2_Shutdown first (costs one lockout count). */
  restartTpm(powerLoss?: boolean): void;
  /** The TPM's dictionary-attack failure counter (TPM2_PT_LOCKOUT_COUNTER), read by tpm2-tools. */
  lockoutCounter(): number;
  stop(): void;
}

function run(args: string[]): string {
  return execFileSync('bash', [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 }).toString();
}

/** DIR/env: one `export NAME='value'` (or NAME=value) a line. */
function readEnv(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!;
    out[m[1]!] = v.startsWith("'") ? v.slice(1, -1).replace(/'\\''/g, "'") : v;
  }
  return out;
}

export function startSimulators(dir = mkdtempSync(join(tmpdir(), 'certd-sim-'))): Simulators {
  run(['start', dir]);
  const env = readEnv(join(dir, 'env'));
  return {
    dir,
    env,
    stores: [
      {
        kind: 'pkcs11', id: 'TPM0', security_level: 'STRONG', certifications: ['TPM 2.0 (swtpm simulator)'],
        key_types: ['EC-P256', 'EC-P384', 'RSA-2048', 'RSA-3072'], module: env.CERTD_TPM0_MODULE, token_label: env.CERTD_TPM0_TOKEN,
        pin_file: env.CERTD_TPM0_PIN_FILE, can_import: false, can_secure_wipe: true,
      },
      {
        kind: 'pkcs11', id: 'SE0', security_level: 'STRONG', certifications: ['SoftHSM2 (secure element simulator)'],
        key_types: ['EC-P256', 'EC-P384', 'EC-P521', 'RSA-2048', 'RSA-3072', 'RSA-4096'], module: env.CERTD_SE0_MODULE,
        token_label: env.CERTD_SE0_TOKEN, pin_file: env.CERTD_SE0_PIN_FILE, can_import: true, can_secure_wipe: false,
      },
    ],
    pins: () => [readFileSync(env.CERTD_TPM0_PIN_FILE!, 'utf8'), readFileSync(env.CERTD_SE0_PIN_FILE!, 'utf8')],
    restartTpm: (powerLoss = false) => void run(['restart-tpm', ...(powerLoss ? ['--power-loss'] : []), dir]),
    lockoutCounter: () => {
      const out = execFileSync('tpm2_getcap', ['properties-variable'], { encoding: 'utf8', env: { ...process.env, ...env } });
      const m = /TPM2_PT_LOCKOUT_COUNTER:\s*(0x[0-9a-fA-F]+|\d+)/.exec(out);
      if (!m) throw new Error('tpm2_getcap properties-variable: no TPM2_PT_LOCKOUT_COUNTER');
      return Number(m[1]);
    },
    stop: () => void run(['stop', '--clean', dir]),
  };
}
