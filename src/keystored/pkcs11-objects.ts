// The objects of one open session, found by CKA_ID, with the guard against a handle naming
// another key. Apart from the session so that every handle the key operations use passes
// one check.
//
// Handle reuse (tpm2-pkcs11 1.9): when the object with the lowest handle is destroyed, the
// module gives the next new object a handle an existing object already has (its
// token_add_tobject does not see the gap before the list head), so a handle may name
// another key. After destroying objects on tpm2-pkcs11 the handles are checked and, if the
// lowest is not 1 any more, the session re-initializes the module before the next operation
// (handles are then numbered 1..n afresh). As a safety net for every module, each handle is
// checked to carry the key's CKA_ID before it is used (sign, SPKI, destroy) and right after
// generation; a mismatch re-initializes and retries once, and never signs with another key.
import { endianness } from 'node:os';
import * as pkcs11js from 'pkcs11js';
import { ckaId } from './pkcs11-templates';

export type Handle = Buffer;
/** A key id of ours (CKA_ID = its UTF-8 bytes) or raw CKA_ID bytes (the KEK sealing key's). */
export type KeyRef = string | Buffer;
const idOf = (key: KeyRef): Buffer => (typeof key === 'string' ? ckaId(key) : key);

/** What the objects need of their session. */
export interface HandleGuard {
  /** The module is tpm2-pkcs11 (handles may be reused after a destroy). */
  readonly isTpm2Pkcs11: boolean;
  /** Set: re-initialize the module before the next operation. */
  reinitPending: boolean;
}

/** A handle named another object than the one looked up; the session re-initializes and retries. */
export class StaleHandles extends Error {
  constructor() {
    super('the module gave one handle to two objects (tpm2-pkcs11 handle reuse); re-initialized it');
  }
}

/** CK_ULONG attribute value (native byte order) as a number. */
function ulong(b: Buffer): number {
  const le = endianness() === 'LE';
  if (b.length === 8) return Number(le ? b.readBigUInt64LE() : b.readBigUInt64BE());
  if (b.length === 4) return le ? b.readUInt32LE() : b.readUInt32BE();
  return b.length > 0 ? b[0]! : -1;
}

export class TokenObjects {
  constructor(
    readonly p11: pkcs11js.PKCS11,
    readonly session: Handle,
    private readonly guard: HandleGuard,
  ) {}

  /** Whether handles may now name other objects (a new object must wait for a re-initialization). */
  get handlesStale(): boolean {
    return this.guard.reinitPending;
  }

  findAll(template: pkcs11js.Template): Handle[] {
    this.p11.C_FindObjectsInit(this.session, template);
    const out: Handle[] = [];
    try {
      for (;;) {
        const batch = this.p11.C_FindObjects(this.session, 64);
        if (batch.length === 0) break;
        out.push(...batch);
      }
    } finally {
      this.p11.C_FindObjectsFinal(this.session);
    }
    return out;
  }

  /** The objects of key `keyId` (of class `cls`, or all). */
  find(keyId: KeyRef, cls?: number): Handle[] {
    const template: pkcs11js.Template = [{ type: pkcs11js.CKA_ID, value: idOf(keyId) }];
    if (cls !== undefined) template.push({ type: pkcs11js.CKA_CLASS, value: cls });
    return this.findAll(template);
  }

  /** Throws StaleHandles unless the object behind `handle` is key `keyId`'s. */
  checkId(handle: Handle, keyId: KeyRef): void {
    this.checked(this.p11.C_GetAttributeValue(this.session, handle, [{ type: pkcs11js.CKA_ID }])[0]!, keyId);
  }

  /** CKA_KEY_TYPE of key `keyId`'s object `handle`, checking the handle still names it. */
  keyType(handle: Handle, keyId: KeyRef): number {
    const [id, type] = this.p11.C_GetAttributeValue(this.session, handle, [{ type: pkcs11js.CKA_ID }, { type: pkcs11js.CKA_KEY_TYPE }]);
    this.checked(id!, keyId);
    return ulong(type!.value as Buffer);
  }

  /** Destroys key `keyId`'s `objects`, each checked first. */
  destroy(keyId: KeyRef, objects: Handle[]): void {
    for (const o of objects) this.checkId(o, keyId);
    for (const o of objects) this.p11.C_DestroyObject(this.session, o);
    // On tpm2-pkcs11 the next new object would get a handle in use once the lowest is not 1.
    if (!this.guard.isTpm2Pkcs11) return;
    const handles = this.findAll([]);
    if (handles.length > 0 && Math.min(...handles.map(ulong)) !== 1) this.guard.reinitPending = true;
  }

  private checked(id: pkcs11js.Attribute, keyId: KeyRef): void {
    if (!(id.value as Buffer).equals(idOf(keyId))) {
      this.guard.reinitPending = true;
      throw new StaleHandles();
    }
  }
}
