// The parts of a 2N upload (multipart/form-data) as bytes, parsed by @fastify/busboy. Every
// part is taken as a file, whatever its headers say: python-requests sends parts without a
// Content-Type, and busboy would hand a part without a filename over as a JS string, which
// cannot be wiped (the password and the key are secrets). Each part is copied out of the
// parser's chunks into its own buffer outside V8's heap; the caller wipes it (wipeParts).
import Busboy from '@fastify/busboy';
import { TWO_N, TwoNError } from './two-n-errors';

export interface PartLimits {
  /** Largest part, bytes. */
  partSize: number;
  /** Most parts taken (known or not). */
  parts: number;
}

/** Bytes outside V8's heap (a small Uint8Array lives in it and a GC may leave copies). */
const offHeap = (n: number) => new Uint8Array(new ArrayBuffer(n));

export function wipeParts(parts: Map<string, Uint8Array>): void {
  for (const v of parts.values()) v.fill(0);
}

/**
 * The parts named `known` (others are read and dropped). A part over the size limit is
 * code 13 naming it; too many parts 13; a part twice 17; a body that is not multipart 14
 * (what 2N answers an unsupported Content-Type); a broken one 12.
 */
export function readParts(body: Buffer, contentType: string | undefined, known: readonly string[], limits: PartLimits): Promise<Map<string, Uint8Array>> {
  const parts = new Map<string, Uint8Array>();
  const fail = (e: TwoNError) => {
    wipeParts(parts);
    return Promise.reject(e);
  };
  if (!/^multipart\/form-data\s*;/i.test(contentType ?? '')) {
    return fail(new TwoNError(TWO_N.PROCESSING_ERROR, undefined, 'Unsupported Content-Type: the body must be multipart/form-data'));
  }
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({
      headers: { 'content-type': contentType! },
      isPartAFile: () => true,
      limits: { fileSize: limits.partSize, files: limits.parts, parts: limits.parts, headerPairs: 8, fieldNameSize: 64 },
    });
  } catch {
    return fail(new TwoNError(TWO_N.INVALID_PARAMETER, undefined, 'malformed multipart/form-data Content-Type (no boundary)'));
  }
  return new Promise((resolve, reject) => {
    let refusal: TwoNError | undefined;
    const refuse = (e: TwoNError) => {
      refusal ??= e;
    };
    parser.on('file', (name: string, stream: NodeJS.ReadableStream & { truncated?: boolean }) => {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('limit', () => refuse(new TwoNError(TWO_N.DATA_TOO_BIG, name, `over ${limits.partSize} bytes`)));
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
      });
      stream.on('end', () => {
        if (known.includes(name) && !refusal) {
          if (parts.has(name)) refuse(new TwoNError(TWO_N.PARAMETER_COLLISION, name, 'given twice'));
          else {
            const out = offHeap(size);
            let at = 0;
            for (const c of chunks) {
              out.set(c, at);
              at += c.length;
            }
            parts.set(name, out);
          }
        }
        for (const c of chunks) c.fill(0);
      });
    });
    parser.on('partsLimit', () => refuse(new TwoNError(TWO_N.DATA_TOO_BIG, undefined, `more than ${limits.parts} parts`)));
    parser.on('filesLimit', () => refuse(new TwoNError(TWO_N.DATA_TOO_BIG, undefined, `more than ${limits.parts} parts`)));
    parser.on('error', () => {
      wipeParts(parts);
      reject(refusal ?? new TwoNError(TWO_N.INVALID_PARAMETER, undefined, 'malformed multipart/form-data body'));
    });
    parser.on('finish', () => {
      if (refusal) {
        wipeParts(parts);
        reject(refusal);
      } else {
        resolve(parts);
      }
    });
    parser.end(body);
  });
}
