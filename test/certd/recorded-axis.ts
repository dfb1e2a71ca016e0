// Answers recorded from a real camera (AXIS P3265-V, AXIS OS 12.11.77), the parts the parity
// suite compares with: the third-party capture github.com/Cacsjep/oadm
// docs/specs/pki-research/ (config-discover.json, rest-cert-v1-keystores.json, README.md),
// cited as OADM-FIX / OADM-NOTES in ../shared/spec/PROTOCOL-NOTES.md. Data only (URLs,
// field names, numbers), cut to what concerns cert.v1.

/** GET /config/discover: the top-level keys, the framework version, `device`, and the cert entry. */
export const DISCOVER = {
  keys: ['apis', 'device', 'framework_version'],
  framework_version: '1.1.0',
  device: {
    rest_openapi: '/config/discover/openapi.json',
    rest_ui: '/config/web-ui/swagger-ui/?url=/config/discover/openapi.json',
  },
  cert_v1: {
    doc: '/config/discover/apis/cert/v1/doc.md',
    doc_html: '/config/web-ui/cu-doc.html?md-doc-loc=/config/discover/apis/cert/v1/doc.md',
    model: '/config/discover/apis/cert/v1/model.json',
    rest_api: '/config/rest/cert/v1',
    rest_openapi: '/config/discover/apis/cert/v1/openapi.json',
    rest_ui: '/config/web-ui/swagger-ui/?url=/config/discover/apis/cert/v1/openapi.json',
    state: 'released',
    version: '1.1.2',
  },
};

/** GET …/keystores: the fields of one keystore object. */
export const KEYSTORE_FIELDS = ['certifications', 'id', 'key_types', 'security_level'];

/** A missing API or alias: HTTP 404 with this envelope; the message begins with this text. */
export const NOT_FOUND = { status: 404, code: 1, messagePrefix: 'Resource not found: ' };
