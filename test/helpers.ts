// Shared by the test suites: the loaded core, fixture paths, and the openssl oracle.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Core } from '../wasm/core';
import { CoreError } from '../wasm/errors';

const ROOT = join(__dirname, '..', '..');
let corePromise: Promise<Core> | undefined;

/** One core per test process, loaded on first use. */
export function core(): Promise<Core> {
  corePromise ??= Core.load();
  return corePromise;
}

export function fixturePath(part: string, name: string): string {
  return join(ROOT, 'test', 'fixtures', 'out', part, name);
}

export function fixture(part: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(part, name)));
}

/** Runs the openssl CLI; returns stdout. Throws with stderr when openssl fails. */
export function openssl(args: string[], input?: Uint8Array | string): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

/** Deterministic junk for garbage-input tests. */
export function junk(len: number, seed = 1): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The CoreError code fn throws; "no error" if it returns. Other errors propagate. */
export function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CoreError) return e.code;
    throw e;
  }
  return 'no error';
}

/** As code, for a call that resolves or rejects. */
export async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CoreError) return e.code;
    throw e;
  }
  return 'no error';
}
