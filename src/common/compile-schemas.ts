// Build step (build.sh runs it after tsc): compiles every JSON schema of the project to
// standalone validator code in dist/validators/<group>.js, which the daemons load
// (src/common/validators.ts) instead of compiling schemas at start.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import { _ } from 'ajv/dist/compile/codegen';
import standaloneCode from 'ajv/dist/standalone';
import { ERROR_SCHEMA, SCHEMAS } from '../../ipc/schemas.data';
import { CERT_V1_LAX_SCHEMAS, CERT_V1_SCHEMAS } from '../certd/api/cert-v1-schemas';
import { CERTD_V1_SCHEMAS } from '../certd/api/certd-v1-schemas';
import { CERTD_CONFIG_SCHEMA } from '../certd/config.schema';
import { KEYSTORED_CONFIG_SCHEMA } from '../keystored/config.schema';

const GROUPS: Record<string, Record<string, object>> = {
  ipc: {
    error: ERROR_SCHEMA,
    ...Object.fromEntries(Object.entries(SCHEMAS).flatMap(([op, s]) => [[`req_${op}`, s.req], [`res_${op}`, s.res]])),
  },
  'cert-v1': CERT_V1_SCHEMAS,
  'cert-v1-lax': CERT_V1_LAX_SCHEMAS,
  'certd-v1': CERTD_V1_SCHEMAS,
  certd: { config: CERTD_CONFIG_SCHEMA },
  keystored: { config: KEYSTORED_CONFIG_SCHEMA },
};

const out = join(__dirname, '..', '..', 'validators');
mkdirSync(out, { recursive: true });
for (const [group, schemas] of Object.entries(GROUPS)) {
  const ajv = new Ajv({ code: { source: true }, strict: true, allErrors: false });
  // msgpack carries binary as bin, which msgpackr hands back as a Uint8Array (Buffer):
  // `bytes: {maxLength}` is a non-empty byte array of at most maxLength.
  ajv.addKeyword({
    keyword: 'bytes',
    schemaType: 'object',
    code(cxt) {
      const max = (cxt.schema as { maxLength: number }).maxLength;
      cxt.fail(_`!(${cxt.data} instanceof Uint8Array) || ${cxt.data}.length === 0 || ${cxt.data}.length > ${max}`);
    },
  });
  for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(schema, name);
  writeFileSync(join(out, `${group}.js`), standaloneCode(ajv, Object.fromEntries(Object.keys(schemas).map((n) => [n, n]))));
}
