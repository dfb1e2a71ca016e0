// Runs a compiled request schema; the first failure becomes one 400 line naming the field.
import { HttpError } from '../http/errors';
import { loadValidators, type Validator } from '../../common/validators';
import type { CertV1SchemaName } from './cert-v1-schemas';
import type { CertdV1SchemaName } from './certd-v1-schemas';

type SchemaName = CertV1SchemaName | CertdV1SchemaName;
const validators = { ...loadValidators<CertV1SchemaName>('cert-v1'), ...loadValidators<CertdV1SchemaName>('certd-v1') };
/** cert.v1's schemas that let unknown fields of `data` through (`?strict=false`). */
const lax: Partial<Record<SchemaName, Validator>> = loadValidators<CertV1SchemaName>('cert-v1-lax');

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 5, 'body: not valid JSON');
  }
}

/**
 * The body's `data`, checked against the named schema; with `strict` false, fields of
 * `data` the schema does not name are let through (the handlers read only the ones they
 * know, so they are ignored).
 */
export function validBody<T>(name: SchemaName, body: Buffer, strict = true): T {
  const json = parseJson(body);
  const v = (!strict && lax[name]) || validators[name];
  if (!v(json)) {
    const e = v.errors?.[0];
    const extra = (e?.params.additionalProperty ?? e?.params.missingProperty) as string | undefined;
    // An unknown field's name is the client's text: echoed only when it looks like a name
    // (a PEM blob or a passphrase sent as a key must not come back, nor a multi-line message).
    const named = extra !== undefined && /^[\w$.-]{1,64}$/.test(extra) ? extra : undefined;
    const path = [e?.instancePath.slice(1).replace(/\//g, '.'), named].filter(Boolean).join('.') || 'body';
    const why = e?.params.additionalProperty ? 'unknown field' : e?.message ?? 'invalid';
    throw new HttpError(400, 5, `${path}: ${why}`);
  }
  return (json as { data: T }).data;
}
