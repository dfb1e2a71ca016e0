// The SOAP front-end's faults, in one place: its own (SoapFault), the domain's error codes
// as ONVIF subcodes (the Advanced Security names for certificate errors), and the HTTP
// core's errors under /vapix/services. Sender faults are HTTP 400, Receiver ones 500
// (ONVIF Core §5.12); 401 and 429 keep their status and headers so that HTTP clients
// answer the challenge or wait. Reasons are the domain's one-line messages: no secrets.
import { DomainError, type DomainErrorCode } from '../domain/errors';
import type { HttpError } from '../http/errors';
import { CONTENT_TYPE, envelope, faultBody, type FaultShape } from './soap-envelope';
import { XmlRefused } from './soap-xml';

export class SoapFault extends Error {
  constructor(readonly shape: FaultShape, readonly status = shape.code === 'Sender' ? 400 : 500) {
    super(shape.reason);
    this.name = 'SoapFault';
  }
}

export const sender = (subcodes: string[], reason: string, detail?: string) => new SoapFault({ code: 'Sender', subcodes, reason, ...(detail ? { detail } : {}) });

/** As the devices answer an operation they do not have (recorded on 12.11). */
export const actionNotSupported = () => new SoapFault({
  code: 'Receiver', subcodes: ['ter:ActionNotSupported'], reason: 'Optional action not implemented',
  detail: 'The requested action is optional and is not implemented',
});

/** As the devices answer a request without the right credentials (recorded on 5.55). */
export const notAuthorized = (status = 400) => new SoapFault({
  code: 'Sender', subcodes: ['ter:NotAuthorized'], reason: 'Sender not authorized',
  detail: 'The action requested requires authorization and the sender is not authorized',
}, status);

const BAD_ARG = 'ter:InvalidArgVal';
const DOMAIN: Record<DomainErrorCode, Pick<FaultShape, 'code' | 'subcodes'>> = {
  NOT_FOUND: { code: 'Sender', subcodes: [BAD_ARG, 'ter:CertificateID'] },
  ALIAS_EXISTS: { code: 'Sender', subcodes: [BAD_ARG, 'ter:CertificateID'] },
  INVALID: { code: 'Sender', subcodes: [BAD_ARG] },
  BAD_CERTIFICATE: { code: 'Sender', subcodes: [BAD_ARG, 'ter:BadCertificate'] },
  BAD_PRIVATE_KEY: { code: 'Sender', subcodes: [BAD_ARG, 'ter:BadPrivateKey'] },
  KEY_MISMATCH: { code: 'Sender', subcodes: [BAD_ARG, 'ter:NoMatchingPrivateKey'] },
  WRONG_PASSPHRASE: { code: 'Sender', subcodes: [BAD_ARG, 'ter:BadPassphrase'] },
  BAD_PKCS12: { code: 'Sender', subcodes: [BAD_ARG, 'ter:BadPKCS12'] },
  UNSUPPORTED_KEY_TYPE: { code: 'Sender', subcodes: [BAD_ARG, 'ter:KeyAlgorithm'] },
  UNKNOWN_KEYSTORE: { code: 'Sender', subcodes: [BAD_ARG] },
  KEYSTORE_UNAVAILABLE: { code: 'Receiver', subcodes: ['ter:Action'] },
  KEYSTORE_FAILURE: { code: 'Receiver', subcodes: ['ter:Action'] },
  APPLY_FAILED: { code: 'Receiver', subcodes: ['ter:Action'] },
  // The entry's state refuses the change.
  IN_USE: { code: 'Sender', subcodes: [BAD_ARG, 'ter:ReferenceExists'] },
  PREFLIGHT_FAILED: { code: 'Sender', subcodes: [BAD_ARG, 'ter:BadCertificate'] },
  PROTECTED: { code: 'Sender', subcodes: ['ter:OperationProhibited'] },
};

/** A domain error, a refused body or the front-end's own fault as a fault; anything else is not ours to word. */
export function soapFaultOf(e: unknown): SoapFault | undefined {
  if (e instanceof SoapFault) return e;
  if (e instanceof XmlRefused) return sender(['ter:WellFormed'], e.message);
  if (e instanceof DomainError) return new SoapFault({ ...DOMAIN[e.code], reason: e.message });
  return undefined;
}

export function faultResponse(f: SoapFault, headers: Record<string, string | string[]> = {}) {
  return { status: f.status, body: envelope(faultBody(f.shape)), headers: { ...headers, 'content-type': CONTENT_TYPE } };
}

/** The HTTP core's errors under /vapix/services (App.errorForm), as faults. */
export function soapErrorForm(e: HttpError) {
  if (e.status === 401 || e.status === 429) return faultResponse(notAuthorized(e.status), e.headers);
  // 403: a role short of the route's; 400/26: a WS-Security token refused (http/app.ts).
  if (e.status === 403 || (e.status === 400 && e.code === 26)) return faultResponse(notAuthorized(), e.headers);
  if (e.status >= 500) return faultResponse(new SoapFault({ code: 'Receiver', subcodes: ['ter:Action'], reason: 'Action failed' }), e.headers);
  // 404, 405, 413, 414: the request itself; the status says which.
  return faultResponse(new SoapFault({ code: 'Sender', subcodes: [BAD_ARG], reason: e.message }, e.status), e.headers);
}
