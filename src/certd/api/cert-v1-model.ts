// What cert.v1 offers, as data: the operation table (for the OpenAPI document; a test
// checks the server routes exactly these) and the model definition devices serve.
import { KEY_TYPES } from '../../../ipc/protocol';
import type { Role } from '../http/app';
import type { CertV1SchemaName } from './cert-v1-schemas';

export interface Operation {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to /config/rest/cert/v1. */
  path: string;
  role: Role;
  summary: string;
  body?: CertV1SchemaName;
  status: number;
  response?: Record<string, unknown>;
  errors: number[];
  /** Also answered to PUT, with the same handler: AXIS OS ≤ 11.10 clients send PUT for sets and actions. */
  put?: true;
}

const str = { type: 'string' };
const certificate = { type: 'object', properties: { alias: str, certificate: str, keystore: str } };
const ca = { type: 'object', properties: { alias: str, certificate: str } };
const keystore = {
  type: 'object',
  properties: { id: str, security_level: { enum: ['SOFTWARE', 'TRUSTED_ENVIRONMENT', 'STRONG'] }, certifications: { type: 'array', items: str }, key_types: { type: 'array', items: str } },
};
const list = (items: Record<string, unknown>) => ({ type: 'array', items });

export const CERT_V1_OPERATIONS: Operation[] = [
  { method: 'GET', path: '', role: 'viewer', summary: 'The whole API tree', status: 200, response: { type: 'object' }, errors: [503] },
  { method: 'GET', path: '/certificates', role: 'viewer', summary: 'List certificates with private keys', status: 200, response: list(certificate), errors: [] },
  { method: 'POST', path: '/certificates', role: 'admin', summary: 'Upload a certificate with its private key', body: 'addCertificate', status: 201, response: certificate, errors: [400, 409, 413, 503] },
  { method: 'GET', path: '/certificates/:alias', role: 'viewer', summary: 'One certificate', status: 200, response: certificate, errors: [404] },
  { method: 'PATCH', path: '/certificates/:alias', role: 'admin', summary: 'Replace the certificate (same key pair)', body: 'setCertificateEntry', status: 200, errors: [400, 404, 409, 502], put: true },
  { method: 'DELETE', path: '/certificates/:alias', role: 'admin', summary: 'Delete a certificate and its private key', status: 200, errors: [404, 409, 503] },
  { method: 'GET', path: '/certificates/:alias/:prop', role: 'viewer', summary: 'One property (alias, certificate, keystore)', status: 200, response: str, errors: [404] },
  { method: 'PATCH', path: '/certificates/:alias/certificate', role: 'admin', summary: 'Replace the certificate (same key pair)', body: 'setCertificate', status: 200, errors: [400, 404, 409, 502], put: true },
  { method: 'POST', path: '/certificates/:alias/get_csr', role: 'admin', summary: 'A PKCS#10 CSR for the key, PEM', body: 'getCsr', status: 200, response: str, errors: [400, 404, 503], put: true },
  { method: 'GET', path: '/ca_certificates', role: 'viewer', summary: 'List CA certificates', status: 200, response: list(ca), errors: [] },
  { method: 'POST', path: '/ca_certificates', role: 'admin', summary: 'Upload a CA certificate', body: 'addCaCertificate', status: 201, response: ca, errors: [400, 409, 413] },
  { method: 'GET', path: '/ca_certificates/:alias', role: 'viewer', summary: 'One CA certificate', status: 200, response: ca, errors: [404] },
  { method: 'PATCH', path: '/ca_certificates/:alias', role: 'admin', summary: 'Replace the CA certificate (same public key)', body: 'setCertificateEntry', status: 200, errors: [400, 404, 409, 502], put: true },
  { method: 'DELETE', path: '/ca_certificates/:alias', role: 'admin', summary: 'Delete a CA certificate', status: 200, errors: [404, 409] },
  { method: 'GET', path: '/ca_certificates/:alias/:prop', role: 'viewer', summary: 'One property (alias, certificate)', status: 200, response: str, errors: [404] },
  { method: 'PATCH', path: '/ca_certificates/:alias/certificate', role: 'admin', summary: 'Replace the CA certificate (same public key)', body: 'setCertificate', status: 200, errors: [400, 404, 409, 502], put: true },
  { method: 'POST', path: '/create_certificate', role: 'admin', summary: 'Generate a key in a keystore and a self-signed certificate', body: 'createCertificate', status: 200, errors: [400, 409, 503], put: true },
  { method: 'POST', path: '/install_from_pkcs12', role: 'admin', summary: 'Install a certificate and key from PKCS#12', body: 'installFromPkcs12', status: 200, errors: [400, 409, 413, 503], put: true },
  { method: 'GET', path: '/keystores', role: 'viewer', summary: 'List keystores', status: 200, response: list(keystore), errors: [503] },
  { method: 'GET', path: '/keystores/:id', role: 'viewer', summary: 'One keystore', status: 200, response: keystore, errors: [404] },
  { method: 'GET', path: '/keystores/:id/:prop', role: 'viewer', summary: 'One property of a keystore', status: 200, errors: [404] },
  { method: 'GET', path: '/settings', role: 'viewer', summary: 'Settings', status: 200, response: { type: 'object', properties: { keystore: str } }, errors: [] },
  { method: 'PATCH', path: '/settings', role: 'admin', summary: 'Set the default keystore', body: 'setSettings', status: 200, errors: [400], put: true },
  { method: 'GET', path: '/settings/keystore', role: 'viewer', summary: 'The default keystore', status: 200, response: str, errors: [] },
  { method: 'PATCH', path: '/settings/keystore', role: 'admin', summary: 'Set the default keystore', body: 'setKeystore', status: 200, errors: [400], put: true },
];

const prop = (data_type: string, set = false) => ({
  data_type,
  nullable: false,
  operations: { get: { roles: ['admin', 'operator', 'viewer'] }, ...(set ? { set: { roles: ['admin'] } } : {}) },
});

/** The model definition (Device Configuration API format) of cert.v1. */
export const CERT_V1_MODEL = {
  id: 'cert',
  version: '1.1.2',
  name: 'Certificate Management',
  state: 'released',
  short_description: 'Certificates with private keys, CA certificates and keystores',
  export_import: false,
  root_entity: {
    collection: 'singleton',
    operations: { get: {} },
    actions: {
      create_certificate: { request_data_type: 'create_certificate_input', response_data_type: 'empty', operations: { trigger: { roles: ['admin'] } } },
      install_from_pkcs12: { request_data_type: 'install_from_pkcs12_input', response_data_type: 'empty', operations: { trigger: { roles: ['admin'] } } },
    },
    entities: {
      certificates: {
        collection: 'map',
        key_property: 'alias',
        operations: { get: {}, set: { fields: { optional: ['certificate'] } }, add: { roles: ['admin'], fields: { required: ['alias', 'certificate', 'private_key'], optional: ['keystore'] } }, remove: { roles: ['admin'] } },
        properties: { alias: prop('alias'), certificate: prop('string', true), keystore: prop('string'), private_key: { data_type: 'string', nullable: false, operations: {} } },
        actions: { get_csr: { request_data_type: 'get_csr_input', response_data_type: 'string', operations: { trigger: { roles: ['admin'] } } } },
      },
      ca_certificates: {
        collection: 'map',
        key_property: 'alias',
        operations: { get: {}, set: { fields: { optional: ['certificate'] } }, add: { roles: ['admin'], fields: { required: ['alias', 'certificate'], optional: [] } }, remove: { roles: ['admin'] } },
        properties: { alias: prop('alias'), certificate: prop('string', true) },
      },
      keystores: {
        collection: 'map',
        key_property: 'id',
        operations: { get: {} },
        properties: { id: prop('string'), security_level: prop('keystore_seclevel'), certifications: prop('keystore_certifications'), key_types: prop('keystore_key_types') },
      },
      settings: { collection: 'singleton', operations: { get: {}, set: { fields: { optional: ['keystore'] } } }, properties: { keystore: prop('string', true) } },
    },
  },
  data_types: {
    alias: { type: 'string', minLength: 1, maxLength: 128 },
    keystore_seclevel: { type: 'string', enum: ['SOFTWARE', 'TRUSTED_ENVIRONMENT', 'STRONG'] },
    keystore_certifications: { type: 'array', items: { type: 'string' } },
    keystore_key_types: { type: 'array', items: { type: 'string', enum: KEY_TYPES } },
    san_list: { type: 'array', items: { type: 'string' } },
    create_certificate_input: {
      type: 'object',
      fields: {
        alias: { type: 'alias', nullable: false }, key_type: { type: 'string', nullable: true }, keystore: { type: 'string', nullable: true },
        subject: { type: 'string', nullable: false }, subject_alt_names: { type: 'san_list', nullable: true },
        valid_from: { type: 'integer', nullable: true }, valid_to: { type: 'integer', nullable: true },
      },
    },
    get_csr_input: { type: 'object', fields: { subject: { type: 'string', nullable: true }, subject_alt_names: { type: 'san_list', nullable: true } } },
    install_from_pkcs12_input: {
      type: 'object',
      fields: { alias: { type: 'alias', nullable: false }, keystore: { type: 'string', nullable: true }, passphrase: { type: 'string', nullable: false }, pkcs12: { type: 'string', nullable: false } },
    },
    empty: { type: 'object', fields: {} },
  },
};
