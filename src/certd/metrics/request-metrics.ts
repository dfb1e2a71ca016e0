// Request counts, latency histograms and failed logins per API, fed by the HTTP core (one
// hook for every front-end) and the authenticator.
import type { Exposition } from './exposition';

/** Upper bounds, seconds: Prometheus' default buckets. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class RequestMetrics {
  private readonly requests = new Map<string, { api: string; status: string; n: number }>();
  private readonly durations = new Map<string, Histogram>();
  private readonly authFailures = new Map<string, number>();

  observe(api: string, status: number, seconds: number): void {
    const key = `${api} ${status}`;
    const r = this.requests.get(key) ?? { api, status: String(status), n: 0 };
    r.n++;
    this.requests.set(key, r);
    let h = this.durations.get(api);
    if (!h) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(api, h);
    }
    const i = BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  authFailure(api: string): void {
    this.authFailures.set(api, (this.authFailures.get(api) ?? 0) + 1);
  }

  write(out: Exposition): void {
    out.family('certd_http_requests_total', 'counter', 'HTTP requests answered, by API and status.');
    for (const r of this.requests.values()) out.sample('certd_http_requests_total', { api: r.api, status: r.status }, r.n);
    out.family('certd_http_request_duration_seconds', 'histogram', 'Time from a request\'s arrival to the end of its answer, by API.');
    for (const [api, h] of this.durations) {
      let cumulative = 0;
      BUCKETS.forEach((b, i) => {
        cumulative += h.counts[i]!;
        out.sample('certd_http_request_duration_seconds_bucket', { api, le: String(b) }, cumulative);
      });
      out.sample('certd_http_request_duration_seconds_bucket', { api, le: '+Inf' }, h.count);
      out.sample('certd_http_request_duration_seconds_sum', { api }, h.sum);
      out.sample('certd_http_request_duration_seconds_count', { api }, h.count);
    }
    out.family('certd_auth_failures_total', 'counter', 'Failed logins (wrong or unknown credentials, locked out), by API.');
    for (const [api, n] of this.authFailures) out.sample('certd_auth_failures_total', { api }, n);
  }
}
