// An AuthRequest for the Authenticator's unit tests. `secure` defaults to true (a TLS
// connection), where Basic is taken; the tests of plain HTTP pass false.
import type { AuthRequest } from '../../src/certd/auth/scheme';

export function rq(method: string, url: string, authorization?: string, remote = '', secure = true): AuthRequest {
  return { method, url, headers: authorization === undefined ? {} : { authorization }, remote, secure };
}
