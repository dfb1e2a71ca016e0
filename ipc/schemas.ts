// The compiled schemas of the protocol (ipc/schemas.data.ts), one per opcode and side.
import { firstError as first, loadValidators, type Validator } from '../src/common/validators';
import { Opcode } from './protocol';
import { SCHEMAS } from './schemas.data';

type Validators = Record<Opcode, { req: Validator; res: Validator }>;
const compiled = loadValidators<string>('ipc');
export const VALIDATORS = Object.fromEntries(
  Object.keys(SCHEMAS).map((op) => [op, { req: compiled[`req_${op}`]!, res: compiled[`res_${op}`]! }]),
) as unknown as Validators;
export const validateError = compiled.error!;

/** "field: reason" of the first schema error, for a one-line BAD_REQUEST message. */
export const firstError = (v: Validator): string => first(v);
