// The users file: realm plus, per user, a role and the RFC 7616 HA1 digests for MD5 and
// SHA-256 — never the password. Written atomically, mode 0600 (HA1 is password-equivalent).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../common/atomic-file';
import { ha1 } from './digest';

export const ROLES = ['admin', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface UserRecord {
  name: string;
  role: Role;
  ha1_md5: string;
  ha1_sha256: string;
  /** The password sealed by keystored (Base64; auth/wsse-scheme.ts); absent: no WS-UsernameToken for this user. */
  wsse?: string;
}

export type FirstRun = { created: true; user: string; password: string } | { created: false };

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
// Printable ASCII without '"' and '\', so the realm goes into a quoted-string unescaped.
const REALM = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const MAX_PASSWORD = 1024;

/** 24 characters, 144 bits; what the first run gives admin. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

export class UserStore {
  private constructor(
    readonly path: string,
    readonly realm: string,
    private readonly users: Map<string, UserRecord>,
  ) {}

  /** Reads and checks the file; refuses one that group or others can read. */
  static load(path: string): UserStore {
    if ((statSync(path).mode & 0o077) !== 0) throw new Error(`users file ${path}: mode must be 0600`);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      throw new Error(`users file ${path}: not JSON`);
    }
    const d = doc as { realm?: unknown; users?: unknown };
    if (typeof doc !== 'object' || doc === null || typeof d.realm !== 'string' || !REALM.test(d.realm) || !Array.isArray(d.users)) {
      throw new Error(`users file ${path}: needs "realm" (printable ASCII, no '"' or '\\') and "users"`);
    }
    const users = new Map<string, UserRecord>();
    for (const u of d.users as unknown[]) {
      const r = checkRecord(u);
      if (!r || users.has(r.name)) throw new Error(`users file ${path}: entry ${users.size + 1} is invalid or repeated`);
      users.set(r.name, r);
    }
    return new UserStore(path, d.realm, users);
  }

  /**
   * Creates the file with user "admin" and a random password if there is none. The password
   * is returned only here; the caller shows it once. Later runs return { created: false }.
   */
  static firstRun(path: string, realm: string): FirstRun {
    if (existsSync(path)) return { created: false };
    if (!REALM.test(realm)) throw new Error('realm must be 1-128 printable ASCII characters without \'"\' or \'\\\'');
    const password = generatePassword();
    new UserStore(path, realm, new Map()).add('admin', 'admin', password);
    return { created: true, user: 'admin', password };
  }

  get(name: string): UserRecord | undefined {
    return this.users.get(name);
  }

  list(): UserRecord[] {
    return [...this.users.values()];
  }

  /** `wsse`: the password as keystored sealed it (Keystores.sealPassword), where it could. */
  add(name: string, role: Role, password: string, wsse?: string): void {
    if (!NAME.test(name)) throw new Error('user name must be 1-64 characters of A-Z a-z 0-9 . _ -');
    if (!ROLES.includes(role)) throw new Error(`role must be one of ${ROLES.join(', ')}`);
    if (this.users.has(name)) throw new Error(`user ${name} exists`);
    this.save(new Map(this.users).set(name, this.record(name, role, password, wsse)));
  }

  setPassword(name: string, password: string, wsse?: string): void {
    this.putRecords([this.passwordRecord(name, password, wsse)]);
  }

  /** The record `name` would have with `password`: what a batch journals (hashes only, never the password). */
  passwordRecord(name: string, password: string, wsse?: string): UserRecord {
    const u = this.users.get(name);
    if (!u) throw new Error(`no user ${name}`);
    return this.record(name, u.role, password, wsse);
  }

  /** Writes whole records of existing users in one atomic write; writing the same again changes nothing. */
  putRecords(records: UserRecord[]): void {
    const next = new Map(this.users);
    for (const r of records) {
      if (!next.has(r.name)) throw new Error(`no user ${r.name}`);
      next.set(r.name, r);
    }
    this.save(next);
  }

  remove(name: string): void {
    const next = new Map(this.users);
    if (!next.delete(name)) throw new Error(`no user ${name}`);
    this.save(next);
  }

  // A password set without a new seal drops the old one: it sealed the old password.
  private record(name: string, role: Role, password: string, wsse?: string): UserRecord {
    if (typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD) {
      throw new Error(`password must be 1-${MAX_PASSWORD} characters`);
    }
    const r: UserRecord = { name, role, ha1_md5: ha1('MD5', name, this.realm, password), ha1_sha256: ha1('SHA-256', name, this.realm, password) };
    return wsse === undefined ? r : { ...r, wsse };
  }

  // The file first, then memory: a failed write leaves both as they were.
  private save(next: Map<string, UserRecord>): void {
    const doc = { realm: this.realm, users: [...next.values()] };
    writeFileAtomic(this.path, Buffer.from(JSON.stringify(doc, null, 2) + '\n'), 0o600);
    this.users.clear();
    for (const [k, v] of next) this.users.set(k, v);
  }
}

function checkRecord(u: unknown): UserRecord | undefined {
  if (typeof u !== 'object' || u === null) return undefined;
  const r = u as Record<string, unknown>;
  const ok = typeof r.name === 'string' && NAME.test(r.name) && ROLES.includes(r.role as Role)
    && typeof r.ha1_md5 === 'string' && /^[0-9a-f]{32}$/.test(r.ha1_md5)
    && typeof r.ha1_sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.ha1_sha256)
    && (r.wsse === undefined || (typeof r.wsse === 'string' && r.wsse.length <= 8192 && /^[A-Za-z0-9+/]+={0,2}$/.test(r.wsse)));
  if (!ok) return undefined;
  const rec: UserRecord = { name: r.name as string, role: r.role as Role, ha1_md5: r.ha1_md5 as string, ha1_sha256: r.ha1_sha256 as string };
  return r.wsse === undefined ? rec : { ...rec, wsse: r.wsse as string };
}
