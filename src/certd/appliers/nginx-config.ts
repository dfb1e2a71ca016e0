// The text of nginx's files: the site (nginx.conf: TLS on the HTTPS port, certd's API paths
// proxied to certd on loopback, marked as TLS for its Basic rule) and the TLS include the
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
}

/** The paths certd's APIs live under; nothing else is proxied. */
const API_PATHS = '^/(config/|vapix/services|api/|certd/|metrics)';

export function siteConfig(s: NginxSite): string {
  const upstream = s.upstream.host.includes(':') ? `[${s.upstream.host}]:${s.upstream.port}` : `${s.upstream.host}:${s.upstream.port}`;
  const listen = s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
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
    listen ${listen} ssl;
    include ${s.prefix}/conf/tls.conf;
    client_max_body_size 16m;
    location ~ ${API_PATHS} {
      proxy_pass http://${upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Connection "";
    }
    location / { return 404; }
  }
}
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
