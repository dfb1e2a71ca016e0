// The schema of the config file, as data (compiled at build time by src/common/compile-schemas.ts).
import { FACILITIES } from '../common/rfc5424';

export const CERTD_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    data_dir: { type: 'string', minLength: 1 },
    keystored_socket_dir: { type: 'string', minLength: 1 },
    listen: {
      type: 'object', additionalProperties: false, required: ['port'],
      properties: { host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 0, maximum: 65535 } },
    },
    tls: {
      type: 'object', additionalProperties: false, required: ['cert_file', 'key_file'],
      properties: { cert_file: { type: 'string', minLength: 1 }, key_file: { type: 'string', minLength: 1 } },
    },
    https: {
      type: 'object', additionalProperties: false, required: ['prefix', 'port'],
      properties: {
        nginx: { type: 'string', minLength: 1 },
        prefix: { type: 'string', minLength: 1 },
        host: { type: 'string', minLength: 1, maxLength: 45 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        http_port: { type: 'integer', minimum: 1, maximum: 65535 },
        user: { type: 'string', minLength: 1, maxLength: 64 },
        reload: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        pid_file: { type: 'string', minLength: 1 },
        token_servers: {
          type: 'array', minItems: 1, maxItems: 8,
          items: {
            type: 'object', additionalProperties: false, required: ['token', 'socket'],
            properties: {
              token: { type: 'string', pattern: '^pkcs11:token=[^;?]+$', maxLength: 256 },
              socket: { type: 'string', pattern: '^/', minLength: 2 },
            },
          },
        },
      },
    },
    users_file: { type: 'string', minLength: 1 },
    realm: { type: 'string', minLength: 1, maxLength: 128 },
    auth: {
      type: 'object', additionalProperties: false,
      properties: {
        basic: { type: 'boolean' },
        basic_over_http: { type: 'boolean' },
        digest: { type: 'array', items: { enum: ['SHA-256', 'MD5'] }, uniqueItems: true },
        nonce_failures: { type: 'integer', minimum: 1, maximum: 100 },
        trusted_proxies: { type: 'array', maxItems: 16, items: { type: 'string', minLength: 2, maxLength: 45 } },
        throttle: {
          type: 'object', additionalProperties: false,
          properties: {
            free_failures: { type: 'integer', minimum: 0, maximum: 1000 },
            base_delay_ms: { type: 'integer', minimum: 0, maximum: 60000 },
            max_delay_ms: { type: 'integer', minimum: 0, maximum: 60000 },
            lock_after: { type: 'integer', minimum: 1, maximum: 100000 },
            address_lock_after: { type: 'integer', minimum: 1, maximum: 100000 },
            window_seconds: { type: 'integer', minimum: 1, maximum: 86400 },
            lock_seconds: { type: 'integer', minimum: 0, maximum: 86400 },
            max_tracked: { type: 'integer', minimum: 16, maximum: 1000000 },
            log_lines_per_minute: { type: 'integer', minimum: 1, maximum: 10000 },
          },
        },
      },
    },
    body_limit: { type: 'integer', minimum: 1024, maximum: 16777216 },
    device_names: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 253 } },
    metrics: { type: 'object', additionalProperties: false, properties: { anonymous: { type: 'boolean' } } },
    acme: {
      type: 'object', additionalProperties: false,
      properties: {
        retry: {
          type: 'object', additionalProperties: false,
          properties: { first_ms: { type: 'integer', minimum: 100, maximum: 86400000 }, max_ms: { type: 'integer', minimum: 100, maximum: 86400000 } },
        },
      },
    },
    sps: {
      type: 'object', additionalProperties: false,
      properties: { root_password_hook: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 4096 } } },
    },
    default_certificate: {
      type: 'object', additionalProperties: false,
      properties: { make: { type: 'boolean' }, alias: { type: 'string', minLength: 1, maxLength: 128 }, valid_days: { type: 'integer', minimum: 1, maximum: 36500 } },
    },
    factory_entries: {
      type: 'array', maxItems: 16,
      items: {
        type: 'object', additionalProperties: false, required: ['alias', 'certificate_file'],
        properties: {
          alias: { type: 'string', minLength: 1, maxLength: 128 },
          certificate_file: { type: 'string', minLength: 1 },
          keystore: { type: 'string', minLength: 1, maxLength: 64 },
          key_id: { type: 'string', minLength: 1, maxLength: 128 },
        },
      },
    },
    audit: {
      type: 'object', additionalProperties: false,
      properties: {
        max_bytes: { type: 'integer', minimum: 4096, maximum: 1073741824 },
        keep: { type: 'integer', minimum: 1, maximum: 100 },
        syslog: {
          type: 'object', additionalProperties: false, required: ['host', 'port'],
          properties: {
            host: { type: 'string', minLength: 2, maxLength: 45 },
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            facility: { enum: [...FACILITIES] },
            app_name: { type: 'string', pattern: '^[\\x21-\\x7e]{1,48}$' },
          },
        },
      },
    },
    max_connections: { type: 'integer', minimum: 1, maximum: 65536 },
    max_connections_per_address: { type: 'integer', minimum: 1, maximum: 65536 },
    header_timeout_ms: { type: 'integer', minimum: 100, maximum: 600000 },
    request_timeout_ms: { type: 'integer', minimum: 100, maximum: 3600000 },
    keep_alive_timeout_ms: { type: 'integer', minimum: 100, maximum: 600000 },
    max_pipelined_requests: { type: 'integer', minimum: 1, maximum: 1024 },
    dot1x: {
      type: 'object', additionalProperties: false, required: ['interface'],
      properties: {
        wpa_cli: { type: 'string', minLength: 1 },
        interface: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,15}$' },
        ctrl_dir: { type: 'string', minLength: 1 },
        config_file: { type: 'string', minLength: 1 },
        timeout_ms: { type: 'integer', minimum: 1000, maximum: 600000 },
        start_period_s: { type: 'integer', minimum: 1, maximum: 3600 },
        restart: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        client_dir: { type: 'string', minLength: 1 },
      },
    },
    trusted_origins: { type: 'array', items: { type: 'string', pattern: '^https?://[^/?#]+$' }, uniqueItems: true },
  },
};
