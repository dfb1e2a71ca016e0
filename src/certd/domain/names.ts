// What an alias may be, in one place for every API. Aliases are free text chosen by
// clients, but each one names one file of the store and one entry in every API:
// - valid Unicode only: a lone surrogate ("\ud800x") encodes to the same UTF-8 as
//   "\ufffdx", so two aliases would share one entry file;
// - compared in NFC: "é" typed precomposed or as e + U+0301 is one alias (the stored
//   form is NFC);
// - no control characters, line or paragraph separators, or noncharacters: an alias is
//   shown in web pages, logs and SOAP answers, where these break or forge lines;
// - no leading or trailing white space: "web" and "web " look the same to a person;
// - 1 to 128 characters (code points, after NFC), as cert.v1 documents.
import { DomainError } from './errors';

export const MAX_ALIAS = 128;

const LONE_SURROGATE = /\p{Cs}/u;
const FORBIDDEN = /[\p{Cc}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]/u;
const EDGE_SPACE = /^\p{White_Space}|\p{White_Space}$/u;

/** The alias as stored (NFC), or a DomainError naming `field`. */
export function checkAlias(alias: string, field = 'alias'): string {
  if (LONE_SURROGATE.test(alias)) throw new DomainError('INVALID', 'must be valid Unicode (a lone surrogate is not)', field);
  const nfc = alias.normalize('NFC');
  const n = [...nfc].length;
  if (n < 1 || n > MAX_ALIAS) throw new DomainError('INVALID', `must be 1 to ${MAX_ALIAS} characters`, field);
  if (FORBIDDEN.test(nfc)) throw new DomainError('INVALID', 'must not contain control characters, line separators or noncharacters', field);
  if (EDGE_SPACE.test(nfc)) throw new DomainError('INVALID', 'must not begin or end with white space', field);
  return nfc;
}

/** How a name given in a lookup is compared with stored aliases (never throws). */
export function lookupForm(name: string): string {
  return name.normalize('NFC');
}
