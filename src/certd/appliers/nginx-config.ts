// The text of nginx's files: the site (nginx.conf: TLS on the HTTPS port, certd's API paths
// proxied to certd on loopback, marked as TLS for its Basic rule; the plain-HTTP server when
// the connection policy keeps it) and the TLS include the
// https applier rewrites (certificate chain, key, protocols, ciphers, client certificates).
export interface NginxSite {
  prefix: string;
  /** Where nginx listens for HTTPS. */
  host: string;
  port: number;
  /** Workers' user (the master stays root when started as root); none: the caller's. */
  user?: string;
  /** certd's plain-HTTP listener on loopback. */
  upstream: { host: string; port: number };
  /** Where nginx serves plain HTTP while the https binding's `http_listener` is not false; none: never. */
  httpPort?: number;
}

/** The paths certd's APIs live under; nothing else is proxied. */
const API_PATHS = '^/(config/|vapix/services|api/|certd/|metrics)';

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** The API paths proxied to certd; `tls` marks the request as TLS for certd's Basic rule. */
const apiLocations = (upstream: string, tls: boolean) => `    client_max_body_size 16m;
    location ~ ${API_PATHS} {
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto ${tls ? 'https' : '""'};
      proxy_set_header Connection "";
    }
    location / { return 404; }`;

/**
 * nginx.conf; `plainHttp`: with the server on `httpPort` (the https binding's connection
 * policy). Its X-Forwarded-Proto is emptied, which nginx does not send: a client's own
 * `X-Forwarded-Proto: https` must not reach certd, or Basic would pass in clear.
 */
export function siteConfig(s: NginxSite, plainHttp = false): string {
  const upstream = hostPort(s.upstream.host, s.upstream.port);
  const plain = plainHttp && s.httpPort !== undefined
    ? `  server {\n    listen ${hostPort(s.host, s.httpPort)};\n${apiLocations(upstream, false)}\n  }\n`
    : '';
  return `# Written by certd (src/certd/appliers/nginx-config.ts); rewritten at each https apply.
${s.user ? `user ${s.user};\n` : ''}worker_processes 1;
pid ${s.prefix}/nginx.pid;
# Token keys: the workers reach the pkcs11 engine's p11-kit server (set only when started so).
env OPENSSL_CONF;
env P11_KIT_SERVER_ADDRESS;
error_log ${s.prefix}/logs/error.log;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path ${s.prefix}/tmp/body;
  proxy_temp_path ${s.prefix}/tmp/proxy;
  fastcgi_temp_path ${s.prefix}/tmp/fastcgi;
  uwsgi_temp_path ${s.prefix}/tmp/uwsgi;
  scgi_temp_path ${s.prefix}/tmp/scgi;
  server_tokens off;
  server {
    listen ${hostPort(s.host, s.port)} ssl;
    include ${s.prefix}/conf/tls.conf;
${apiLocations(upstream, true)}
  }
${plain}}
`;
}

export interface TlsFiles {
  chain: string;
  /** The key file keystored wrote for nginx, or an `engine:pkcs11:` reference. */
  key: string;
  /** CA certificates for client certificates; only with client_certificate optional/required. */
  ca?: string;
  settings: Record<string, unknown>;
}

// Quoted, and refused when a path could end the quote or be read as an nginx variable ($).
// A `;` is literal inside quotes: an engine key reference (pkcs11 URI) has several.
const quoted = (v: string, semicolons = false) => {
  if (/["\\$\n{}]/.test(v) || (!semicolons && v.includes(';'))) throw new Error(`nginx cannot be given the path ${JSON.stringify(v)}`);
  return `"${v}"`;
};

export function tlsInclude(f: TlsFiles): string {
  const mode = (f.settings.client_certificate as string | undefined) ?? 'off';
  const lines = [
    '# Written by certd\'s https applier; the previous one comes back if nginx does not take this.',
    `ssl_certificate ${quoted(f.chain)};`,
    `ssl_certificate_key ${quoted(f.key, f.key.startsWith('engine:'))};`,
    `ssl_protocols ${(f.settings.protocols as string | undefined) ?? 'TLSv1.2 TLSv1.3'};`,
  ];
  if (typeof f.settings.ciphers === 'string') lines.push(`ssl_ciphers ${f.settings.ciphers};`);
  // Client certificates asked with no CA to check them against: nginx -t refuses it.
  if (mode !== 'off') lines.push(`ssl_verify_client ${mode === 'required' ? 'on' : 'optional'};`);
  if (mode !== 'off' && f.ca) lines.push(`ssl_client_certificate ${quoted(f.ca)};`);
  return lines.join('\n') + '\n';
}
