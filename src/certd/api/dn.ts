// Distinguished names that front-ends build from separate fields (2N's CSR parameters, the
// Axis Subject elements) in the RFC 4514 text the domain reads.

/** An attribute value as RFC 4514 writes it: specials escaped, leading "#"/space and trailing space too. */
export function escapeDnValue(v: string): string {
  return v.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');
}
