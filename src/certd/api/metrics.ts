// GET /metrics: Prometheus text format 0.0.4. A viewer by default: the aliases, subjects
// and bindings in it are the store's contents. `metrics.anonymous` opens it to a scraper
// that cannot log in on the camera's loopback only, as a vendor may choose; one on the
// network (through nginx, which names the client in X-Forwarded-For) logs in as a viewer
// (Basic over HTTPS is what Prometheus' basic_auth sends).
import type { App, Response } from '../http/app';
import type { Bindings } from '../domain/bindings';
import type { Certificates } from '../domain/certificates';
import { CONTENT_TYPE, Exposition } from '../metrics/exposition';
import type { RequestMetrics } from '../metrics/request-metrics';
import { writeStoreMetrics } from '../metrics/store-metrics';
import { writeEnrollmentMetrics } from '../metrics/enrollment-metrics';
import type { Enrollment } from '../domain/enrollments';

export const METRICS_PATH = '/metrics';

export function registerMetrics(
  app: App, certs: Certificates, bindings: Bindings, requests: RequestMetrics, anonymous: boolean,
  enrollments: () => Pick<Enrollment, 'id' | 'state'>[] = () => [],
): void {
  const render = async (): Promise<Response> => {
    const { keystores } = await certs.health();
    const out = new Exposition();
    writeStoreMetrics(out, certs, bindings.recorded(), keystores);
    writeEnrollmentMetrics(out, enrollments());
    requests.write(out);
    return { status: 200, body: out.text(), headers: { 'content-type': CONTENT_TYPE } };
  };
  if (anonymous) app.anonymous('GET', METRICS_PATH, render, true);
  app.route('GET', METRICS_PATH, 'viewer', render);
}
