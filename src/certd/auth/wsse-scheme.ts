// WS-Security UsernameToken (OASIS WSS UsernameToken Profile 1.0), as ONVIF clients send it
// in the SOAP header: Username, Password Type=…#PasswordDigest, Nonce (Base64), wsu:Created;
// PasswordDigest = Base64(SHA-1(nonce bytes | Created | password)).
//
// certd never holds the password: a user's record carries it sealed by keystored (`wsse`,
// made at every password set), and keystored checks the digest against it (Opcode
// CHECK_PASSWORD_DIGEST). A user without a sealed password cannot use UsernameToken.
// PasswordText is refused: it puts the password in the body, and ONVIF clients send the
// digest. Created must be within ±5 minutes of certd's clock; a (user, nonce) accepted once
// is refused for the 10 minutes it could still be in that window, so a token replays never.
// Stale, replayed and wrong tokens count as failed logins (the Authenticator's throttle).
import type { XmlElement } from '../api/soap-xml';
import { child } from '../api/soap-xml';
import { NS } from '../api/soap-envelope';
import type { Attempt, AuthScheme, SchemeInput } from './scheme';
import type { UserRecord, UserStore } from './users';

const DIGEST_TYPE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest';
const BASE64_ENCODING = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';
export const CREATED_WINDOW_MS = 5 * 60_000;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/** keystored's side: whether `digest` is SHA-1(nonce | created | the sealed password). */
export interface DigestChecker {
  checkDigest(sealed: Uint8Array, nonce: Uint8Array, created: string, digest: Uint8Array): Promise<boolean>;
}

export interface WsseOptions {
  /** Wall-clock milliseconds (Created is a date); default Date.now. */
  now?: () => number;
  /** How many accepted (user, nonce) pairs are remembered; when all are in their window, tokens are refused. Default 10000. */
  maxNonces?: number;
  /**
   * A blob keystored sealed (a random password): checked for an unknown user or one without
   * a sealed password, so that such a refusal takes as long as a wrong password's.
   */
  dummy?: string;
}

interface Token {
  name: string;
  nonce: Buffer;
  created: string;
  digest: Buffer;
}

export class WsseScheme implements AuthScheme {
  readonly name = 'wsse';
  private readonly now: () => number;
  private readonly maxNonces: number;
  /** "user\nnonce" -> when it leaves the window; in insertion order, so the oldest come first. */
  private readonly used = new Map<string, number>();
  private readonly dummy?: Buffer;

  constructor(private readonly store: UserStore, private readonly checker: DigestChecker, opts: WsseOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.maxNonces = opts.maxNonces ?? 10_000;
    this.dummy = opts.dummy === undefined ? undefined : Buffer.from(opts.dummy, 'base64');
  }

  /** WS-Security has no HTTP challenge: the others of the chain give theirs. */
  challenges(): string[] {
    return [];
  }

  attempt(req: SchemeInput): Attempt | 'absent' | 'malformed' {
    const envelope = req.body as XmlElement | undefined;
    if (!envelope || envelope.ns !== NS.env || envelope.local !== 'Envelope') return 'absent';
    const security = child(envelope, NS.env, 'Header') && child(child(envelope, NS.env, 'Header')!, NS.wsse, 'Security');
    const token = security && child(security, NS.wsse, 'UsernameToken');
    if (!token) return 'absent';
    const t = parse(token);
    if (!t) return 'malformed';
    return { name: t.name, verify: () => this.verify(t) };
  }

  private verify(t: Token): UserRecord | undefined | Promise<UserRecord | undefined> {
    const user = this.store.get(t.name);
    const created = Date.parse(t.created);
    const now = this.now();
    const key = `${t.name}\n${t.nonce.toString('base64')}`;
    if (Math.abs(now - created) > CREATED_WINDOW_MS || this.used.has(key)) return undefined;
    if (!user?.wsse) return this.dummy ? this.checker.checkDigest(this.dummy, t.nonce, t.created, t.digest).then(() => undefined) : undefined;
    return this.checker.checkDigest(Buffer.from(user.wsse, 'base64'), t.nonce, t.created, t.digest).then((ok) => {
      // Checked again after the wait: of two requests with one nonce, only the first gets in.
      if (!ok || this.used.has(key) || !this.remember(key, created)) return undefined;
      return user;
    });
  }

  /** Remembers a nonce until its Created leaves the window; false when the table is full of live ones. */
  private remember(key: string, created: number): boolean {
    const now = this.now();
    for (const [k, until] of this.used) {
      if (this.used.size < this.maxNonces) break;
      if (until < now) this.used.delete(k);
    }
    if (this.used.size >= this.maxNonces) return false;
    this.used.set(key, created + CREATED_WINDOW_MS);
    return true;
  }
}

function parse(token: XmlElement): Token | undefined {
  const name = child(token, NS.wsse, 'Username')?.text.trim();
  const password = child(token, NS.wsse, 'Password');
  const nonceEl = child(token, NS.wsse, 'Nonce');
  const created = child(token, NS.wsu, 'Created')?.text.trim();
  if (!name || !password || !nonceEl || !created || !DATE_TIME.test(created) || Number.isNaN(Date.parse(created))) return undefined;
  if (password.attrs.get('{}Type') !== DIGEST_TYPE) return undefined;
  const encoding = nonceEl.attrs.get('{}EncodingType');
  if (encoding !== undefined && encoding !== BASE64_ENCODING) return undefined;
  const nonce = base64(nonceEl.text);
  const digest = base64(password.text);
  if (!nonce || !digest || nonce.length > 256 || digest.length !== 20) return undefined;
  return { name, nonce, created, digest };
}

function base64(text: string): Buffer | undefined {
  const b = text.replace(/\s+/g, '');
  return b.length > 0 && b.length % 4 === 0 && BASE64.test(b) ? Buffer.from(b, 'base64') : undefined;
}
