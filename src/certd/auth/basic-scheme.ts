// HTTP Basic (RFC 7617). The password crosses the wire in clear, so Basic is taken only on
// a TLS connection (certd's own, or the front web server's), or on plain HTTP where the
// config allows it. Elsewhere the header counts as absent: no Basic challenge, and not a
// failed login.
import { randomBytes } from 'node:crypto';
import { ha1, safeEqual } from './digest';
import type { Attempt, AuthRequest, AuthScheme, SchemeInput } from './scheme';
import type { UserStore } from './users';

export class BasicScheme implements AuthScheme {
  readonly name = 'basic';
  private readonly dummy = randomBytes(32).toString('hex');

  constructor(private readonly store: UserStore, private readonly realm: string, private readonly overHttp: boolean) {}

  challenges(req: AuthRequest): string[] {
    return this.allowed(req) ? [`Basic realm="${this.realm}", charset="UTF-8"`] : [];
  }

  attempt(req: SchemeInput): Attempt | 'absent' | 'malformed' {
    const cred = req.authorization;
    if (cred?.scheme !== 'basic' || !this.allowed(req)) return 'absent';
    const token68 = cred.token68;
    if (token68 === undefined || token68.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token68)) return 'malformed';
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(token68, 'base64'));
    } catch {
      return 'malformed';
    }
    const colon = text.indexOf(':');
    if (colon < 0) return 'malformed';
    const name = text.slice(0, colon);
    return {
      name,
      verify: () => {
        const user = this.store.get(name);
        const got = ha1('SHA-256', name, this.realm, text.slice(colon + 1));
        return safeEqual(user?.ha1_sha256 ?? this.dummy, got) ? user : undefined;
      },
    };
  }

  private allowed(req: AuthRequest): boolean {
    return req.secure || this.overHttp;
  }
}
