// certd's configuration. With no file, it serves on 127.0.0.1:8080 (a camera's web server
// fronts it), keeps its data under the project's data/ folder and finds keystored there.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { loadValidators } from '../common/validators';
import type { Dot1xConfig } from './appliers/wpa-supplicant';
import type { DefaultCertificateConfig } from './domain/default-certificate';
import type { FactoryDeclaration } from './domain/factory';
import type { SyslogTarget } from './store/audit-syslog';

export interface CertdConfig {
  data_dir: string;
  /** Folder of keystored's socket. */
  keystored_socket_dir: string;
  listen: { host: string; port: number };
  /** Serve HTTPS with this certificate chain and key (PEM files). */
  tls?: { cert_file: string; key_file: string };
  /**
   * nginx fronts certd with the https binding (appliers/nginx.ts): its binary, its prefix
   * folder (config, TLS files, pid, logs), where it listens, its workers' user (as root).
   * With `reload`, nginx is its unit's: certd runs that command instead (appliers/nginx.ts).
   * Absent: the https binding is only recorded.
   */
  https?: {
    nginx: string; prefix: string; host: string; port: number; user: string;
    /** Plain HTTP beside HTTPS while the binding's connection policy keeps it (a device: 80); absent: none. */
    http_port?: number;
    /** The command that checks and reloads (or starts) nginx when it is its unit's, not certd's. */
    reload?: string[];
    /** That nginx's pid file (default `<prefix>/nginx.pid`). */
    pid_file?: string;
    /**
     * The sockets of p11-kit servers someone else runs (firmware: certd-p11-kit@.service), by
     * token (`pkcs11:token=…`). Set: certd starts none and a token not listed is refused;
     * absent: certd starts one per token (appliers/nginx-token.ts).
     */
    token_servers?: { token: string; socket: string }[];
  };
  users_file: string;
  realm: string;
  auth: {
    /** Basic on TLS connections (certd's own, or the front web server's). */
    basic: boolean;
    /** Basic on plain HTTP too: the password crosses in clear. */
    basic_over_http: boolean;
    /** Digest algorithms, offered in this order. */
    digest: ('SHA-256' | 'MD5')[];
    nonce_failures: number;
    throttle: ThrottleConfig;
    /** Peers whose X-Forwarded-For names the client and, on loopback, X-Forwarded-Proto the TLS (the camera's web server). */
    trusted_proxies: string[];
  };
  body_limit: number;
  /** The audit trail's files: rotate past max_bytes, keep this many rotated files; a copy to syslog. */
  audit: { max_bytes: number; keep: number; syslog?: SyslogTarget };
  /** The device's host names and addresses: the https binding's SANs should cover them. */
  device_names: string[];
  /** Made at the first start and bound to https (domain/default-certificate.ts). */
  default_certificate: DefaultCertificateConfig;
  /**
   * GET /metrics without authentication when true (a loopback Prometheus scraper); by
   * default it needs a viewer, as the store's contents do.
   */
  metrics: { anonymous: boolean };
  /** ACME retries: the first after first_ms, doubling up to max_ms (a CA's Retry-After within it). */
  acme: { retry: { first_ms: number; max_ms: number } };
  /** Factory material imported at every start as protected entries (domain/factory.ts). */
  factory_entries: FactoryDeclaration[];
  http: HttpLimits;
  /** Origins (scheme://host[:port]) besides certd's own whose pages may change things. */
  trusted_origins: string[];
  /**
   * SPS front-end: `root_password_hook`, a command (argv, no shell) given the committed root
   * password's hash on stdin, to apply it to the OS; absent (the default): only stored.
   */
  sps: { root_password_hook?: string[] };
  /** The wired 802.1X supplicant the dot1x binding drives; absent: dot1x is only recorded. */
  dot1x?: Dot1xConfig;
}

/** The brute-force throttle (src/certd/auth/throttle.ts); README "Authentication and roles". */
export interface ThrottleConfig {
  free_failures: number;
  base_delay_ms: number;
  max_delay_ms: number;
  lock_after: number;
  address_lock_after: number;
  window_seconds: number;
  lock_seconds: number;
  max_tracked: number;
  log_lines_per_minute: number;
}

export const THROTTLE_DEFAULTS: ThrottleConfig = {
  free_failures: 5, base_delay_ms: 250, max_delay_ms: 4000, lock_after: 20, address_lock_after: 100,
  window_seconds: 900, lock_seconds: 600, max_tracked: 4096, log_lines_per_minute: 60,
};

/** What one client may hold of certd's HTTP server (README: "Hostile clients"). */
export interface HttpLimits {
  /** Open connections in all; lowered at start to leave descriptors for the daemon itself. */
  max_connections: number;
  max_connections_per_address: number;
  /** Time to send a request's headers (and a TLS handshake): all a client has before it is authenticated. */
  header_timeout_ms: number;
  /** Time to send a whole request; also how long a connection may make no progress. */
  request_timeout_ms: number;
  keep_alive_timeout_ms: number;
  /** Requests a connection may have waiting for their turn; more closes the connection. */
  max_pipelined_requests: number;
}

type RawConfig = Partial<Omit<CertdConfig, 'http' | 'audit' | 'metrics' | 'acme' | 'dot1x' | 'https'> & HttpLimits> & {
  metrics?: { anonymous?: boolean };
  acme?: { retry?: { first_ms?: number; max_ms?: number } };
  dot1x?: Partial<Dot1xConfig> & Pick<Dot1xConfig, 'interface'>;
  https?: Partial<NonNullable<CertdConfig['https']>> & { prefix: string; port: number };
  audit?: { max_bytes?: number; keep?: number; syslog?: Partial<SyslogTarget> & Pick<SyslogTarget, 'host' | 'port'> };
};

const validate = loadValidators<'config'>('certd').config;

const acmeRetry = (raw: RawConfig): CertdConfig['acme']['retry'] => ({ first_ms: 5_000, max_ms: 3_600_000, ...raw.acme?.retry });

export const PROJECT_ROOT = resolve(__dirname, '..', '..', '..');

export function loadCertdConfig(path: string | undefined): CertdConfig {
  const dataRoot = process.env.CERTD_DATA_DIR ?? join(PROJECT_ROOT, 'data');
  let raw: RawConfig = {};
  let base = process.cwd();
  if (path) {
    try {
      raw = JSON.parse(readFileSync(path, 'utf8')) as RawConfig;
    } catch (e) {
      throw new Error(`config ${path}: ${(e as Error).message}`);
    }
    if (!validate(raw)) throw new Error(`config ${path}: ${validate.errors?.[0]?.instancePath || '/'} ${validate.errors?.[0]?.message ?? 'invalid'}`);
    // nginx proxies to the configured port: it is written in its config before certd listens.
    if (raw.https && !raw.listen?.port) throw new Error(`config ${path}: /https needs a fixed /listen/port (nginx proxies to it)`);
    if (raw.https && raw.https.http_port === raw.https.port) throw new Error(`config ${path}: /https/http_port is the HTTPS port`);
    // With reload, nginx runs its unit's site, which certd does not write: a plain listener
    // certd adds to its own nginx.conf would never be served (firmware: set it in the site).
    if (raw.https?.http_port !== undefined && raw.https.reload) throw new Error(`config ${path}: /https/http_port cannot be used with /https/reload (the unit's site is not certd's to change)`);
    const tokens = raw.https?.token_servers?.map((t) => t.token) ?? [];
    if (new Set(tokens).size !== tokens.length) throw new Error(`config ${path}: /https/token_servers names a token twice`);
    if (acmeRetry(raw).first_ms > acmeRetry(raw).max_ms) throw new Error(`config ${path}: /acme/retry/first_ms is over max_ms`);
    if (raw.audit?.syslog && !isIP(raw.audit.syslog.host)) throw new Error(`config ${path}: /audit/syslog/host must be an IP address`);
    base = resolve(path, '..');
  }
  const abs = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const dataDir = raw.data_dir ? abs(raw.data_dir) : join(dataRoot, 'certd');
  return {
    data_dir: dataDir,
    keystored_socket_dir: raw.keystored_socket_dir ? abs(raw.keystored_socket_dir) : join(dataRoot, 'run'),
    listen: { host: raw.listen?.host ?? '127.0.0.1', port: raw.listen?.port ?? Number(process.env.CERTD_PORT ?? 8080) },
    ...(raw.tls ? { tls: { cert_file: abs(raw.tls.cert_file), key_file: abs(raw.tls.key_file) } } : {}),
    ...(raw.https ? { https: { nginx: '/usr/sbin/nginx', host: '0.0.0.0', user: 'www-data', ...raw.https, prefix: abs(raw.https.prefix), ...(raw.https.pid_file ? { pid_file: abs(raw.https.pid_file) } : {}) } } : {}),
    users_file: raw.users_file ? abs(raw.users_file) : join(dataDir, 'users.json'),
    realm: raw.realm ?? 'certd',
    auth: {
      basic: raw.auth?.basic ?? true,
      basic_over_http: raw.auth?.basic_over_http ?? false,
      // MD5 first, as devices: a common client library reads only the first challenge.
      digest: raw.auth?.digest ?? ['MD5', 'SHA-256'],
      nonce_failures: raw.auth?.nonce_failures ?? 3,
      throttle: { ...THROTTLE_DEFAULTS, ...raw.auth?.throttle },
      trusted_proxies: raw.auth?.trusted_proxies ?? ['127.0.0.1', '::1'],
    },
    body_limit: raw.body_limit ?? 1024 * 1024,
    device_names: raw.device_names ?? [],
    metrics: { anonymous: raw.metrics?.anonymous ?? false },
    acme: { retry: acmeRetry(raw) },
    sps: raw.sps?.root_password_hook ? { root_password_hook: raw.sps.root_password_hook } : {},
    default_certificate: { make: raw.default_certificate?.make ?? true, alias: raw.default_certificate?.alias ?? 'default', valid_days: raw.default_certificate?.valid_days ?? 3650 },
    factory_entries: (raw.factory_entries ?? []).map((f) => ({ ...f, certificate_file: abs(f.certificate_file) })),
    audit: {
      max_bytes: raw.audit?.max_bytes ?? 1024 * 1024, keep: raw.audit?.keep ?? 4,
      ...(raw.audit?.syslog ? { syslog: { facility: 'auth' as const, app_name: 'certd', ...raw.audit.syslog } } : {}),
    },
    http: {
      max_connections: raw.max_connections ?? 128,
      max_connections_per_address: raw.max_connections_per_address ?? 32,
      header_timeout_ms: raw.header_timeout_ms ?? 10_000,
      request_timeout_ms: raw.request_timeout_ms ?? 60_000,
      keep_alive_timeout_ms: raw.keep_alive_timeout_ms ?? 5_000,
      max_pipelined_requests: raw.max_pipelined_requests ?? 16,
    },
    trusted_origins: (raw.trusted_origins ?? []).map((o) => new URL(o).origin),
    ...(raw.dot1x ? {
      dot1x: {
        wpa_cli: raw.dot1x.wpa_cli ?? '/usr/sbin/wpa_cli',
        interface: raw.dot1x.interface,
        ctrl_dir: abs(raw.dot1x.ctrl_dir ?? '/run/wpa_supplicant-certd'),
        config_file: abs(raw.dot1x.config_file ?? '/etc/wpa_supplicant/wpa_supplicant-wired-certd.conf'),
        // ~2 s to the first EAPOL-Start plus the EAP exchange; a refusal and the previous
        // binding's wait stay under the 60 s request timeout.
        timeout_ms: raw.dot1x.timeout_ms ?? 25_000,
        // A refused binding's predecessor is back in ~8 s instead of ~32 s (default 30).
        start_period_s: raw.dot1x.start_period_s ?? 3,
        ...(raw.dot1x.restart ? { restart: raw.dot1x.restart } : {}),
        ...(raw.dot1x.client_dir ? { client_dir: abs(raw.dot1x.client_dir) } : {}),
      },
    } : {}),
  };
}
