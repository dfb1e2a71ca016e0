// ACME enrollments as metrics: one sample per enrollment and state, 1 for the state it is
// in and 0 for the others (the kube-state-metrics form of a phase), so an alert can say
// `certd_enrollment_state{state="CA_REJECTED"} == 1`.
import { ENROLLMENT_STATES, type Enrollment } from '../domain/enrollments';
import type { Exposition } from './exposition';

export function writeEnrollmentMetrics(out: Exposition, enrollments: Pick<Enrollment, 'id' | 'state'>[]): void {
  out.family('certd_enrollment_state', 'gauge', 'The state of each ACME enrollment (certmonger\'s names): 1 for the one it is in.');
  for (const e of enrollments) {
    for (const state of ENROLLMENT_STATES) out.sample('certd_enrollment_state', { enrollment: e.id, state }, e.state === state ? 1 : 0);
  }
}
