// /certd/v1/enrollments (admin): ACME enrollments as domain/enrollments.ts keeps them, and
// the http-01 answers at /.well-known/acme-challenge/ (anonymous: the CA fetches them;
// a token is answered only while its challenge is pending). Errors: cert.v1's envelope.
import type { App } from '../http/app';
import type { Enrollment, EnrollmentRequest, Enrollments } from '../domain/enrollments';
import { CERTD_V1_BASE, h, ok } from './certd-v1';
import { validBody } from './validate';

/** What a client sees: no account key id (it names a key in keystored, nothing to act on). */
function view(e: Enrollment) {
  return {
    id: e.id, state: e.state, why: e.why ?? null, directory_url: e.directory_url, identifiers: e.identifiers, key_type: e.key_type, account_key_type: e.account_key_type,
    keystore: e.keystore, bindings: e.bindings, renew_fraction: e.renew_fraction, new_key: e.new_key, account_url: e.account_url ?? null,
    current: e.current ?? null, previous: e.previous ?? null, issued: e.issued, failures: e.failures, next_attempt: e.next_attempt ?? null,
    trust_anchors: e.trust_anchors,
  };
}

export function registerEnrollments(app: App, enrollments: Enrollments): void {
  const base = `${CERTD_V1_BASE}/enrollments`;
  app.route('GET', base, 'admin', h(() => ok(enrollments.list().map(view))));
  app.route('GET', `${base}/:id`, 'admin', h((r) => ok(view(enrollments.get(r.params.id!)))));
  app.route('POST', base, 'admin', h(async (r) => ok(view(await enrollments.create(validBody<EnrollmentRequest>('enrollment', r.body))), 201)));
  app.route('DELETE', `${base}/:id`, 'admin', h(async (r) => {
    await enrollments.remove(r.params.id!);
    return ok(null);
  }));
  app.anonymous('GET', '/.well-known/acme-challenge/:token', (params) => {
    const answer = enrollments.challenges.answer(params.token ?? '');
    return answer === undefined
      ? { status: 404, body: 'not found\n', headers: { 'content-type': 'text/plain' } }
      : { status: 200, body: answer, headers: { 'content-type': 'application/octet-stream' } };
  });
}
