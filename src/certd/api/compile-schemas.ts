// Build step (build.sh runs it after tsc): compiles the request schemas to standalone
// validator code, so certd neither compiles schemas at start nor carries the compiler's
// cost at run time.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { CERT_V1_SCHEMAS } from './cert-v1-schemas';

const ajv = new Ajv({ code: { source: true }, strict: true, allErrors: false });
for (const [name, schema] of Object.entries(CERT_V1_SCHEMAS)) ajv.addSchema(schema, name);
const code = standaloneCode(ajv, Object.fromEntries(Object.keys(CERT_V1_SCHEMAS).map((n) => [n, n])));
writeFileSync(join(__dirname, 'validators.generated.js'), code);
