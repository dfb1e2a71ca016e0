// Schemas are compiled to code at build time (compile-schemas.ts); at run time a module
// only loads its generated validators. The ajv compiler (~12 MB of RSS) never loads in a
// daemon.
export interface SchemaError {
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

export interface Validator {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}

/** The validators compile-schemas.ts wrote for `group` into the compiled code's folder. */
export function loadValidators<N extends string>(group: string): Record<N, Validator> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(`${__dirname}/../../validators/${group}.js`) as Record<N, Validator>;
}

/** "field: reason" of the first error, for one-line messages that name the field. */
export function firstError(v: Validator): string {
  const e = v.errors?.[0];
  if (!e) return 'invalid';
  const extra = (e.params.missingProperty ?? e.params.additionalProperty) as string | undefined;
  const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : extra ?? 'body';
  return `${field}: ${e.message ?? 'invalid'}`;
}
