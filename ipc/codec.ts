// Frames <-> messages of the keystore protocol, with the size limits and schema checks.
// Decoding never throws: a bad frame becomes a status the caller answers with.
import { Packr } from 'msgpackr';
import { HEADER, MAX_BODY_BYTES, Opcode, Status } from './protocol';
import { VALIDATORS, firstError, validateError } from './schemas';

// Plain maps and binary only: no msgpackr extensions, records or structure sharing.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });
const HEADER_BYTES = Buffer.from(HEADER, 'ascii');

export type Frames = Buffer[];

export interface Request {
  id: number;
  opcode: Opcode;
  body: unknown;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; id: number | undefined; status: Status; message: string };

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function encodeRequest(id: number, opcode: Opcode, body: unknown): Frames {
  return [HEADER_BYTES, u32(id), u16(opcode), packr.pack(body)];
}

// A body that carries key material: IMPORT_KEY's private_key.
const SECRET_OPCODES: ReadonlySet<Opcode> = new Set([Opcode.IMPORT_KEY]);

/**
 * Zeroes the body of a request whose opcode carries key material, once nothing needs it:
 * on certd's side when its call settled, on keystored's side when the handler returned.
 * The frame packr.pack() returns is a view of packr's reusable buffer, and zeromq sends
 * frames over 128 bytes without a copy, holding the view until libzmq has written it (after
 * send() resolves): so the wipe waits for the reply, by which time every byte was read by
 * the peer. On keystored's side the received frame is libzmq's own receive memory (zeromq
 * hands it over without a copy) and the decoded private_key a view of it.
 */
export function wipeSecretRequest(frames: Frames): void {
  const op = frames.length === 4 && frames[2]!.length === 2 ? frames[2]!.readUInt16BE() : undefined;
  if (op !== undefined && SECRET_OPCODES.has(op)) frames[3]!.fill(0);
}

export function encodeReply(id: number, status: Status, body: unknown): Frames {
  return [HEADER_BYTES, u32(id), u16(status), packr.pack(body)];
}

function unpack(frame: Buffer): { ok: true; body: unknown } | { ok: false } {
  try {
    return { ok: true, body: packr.unpack(frame) };
  } catch {
    return { ok: false };
  }
}

/** Reads a request; on failure says which status to answer with (and to which id, if known). */
export function decodeRequest(frames: Frames): Decoded<Request> {
  const fail = (id: number | undefined, status: Status, message: string): Decoded<Request> => ({ ok: false, id, status, message });
  if (frames.length !== 4 || frames[1]!.length !== 4 || frames[2]!.length !== 2) {
    return fail(frames.length >= 2 && frames[1]!.length === 4 ? frames[1]!.readUInt32BE() : undefined, Status.BAD_REQUEST, 'malformed frames');
  }
  const id = frames[1]!.readUInt32BE();
  if (!frames[0]!.equals(HEADER_BYTES)) {
    return fail(id, Status.BAD_VERSION, `expected protocol ${HEADER}`);
  }
  const opcode = frames[2]!.readUInt16BE();
  const v = VALIDATORS[opcode as Opcode];
  if (!v) return fail(id, Status.UNKNOWN_OPCODE, `unknown opcode ${opcode}`);
  if (frames[3]!.length > MAX_BODY_BYTES) return fail(id, Status.TOO_LARGE, `body over ${MAX_BODY_BYTES} bytes`);
  const body = unpack(frames[3]!);
  if (!body.ok) return fail(id, Status.BAD_REQUEST, 'body is not msgpack');
  if (!v.req(body.body)) return fail(id, Status.BAD_REQUEST, firstError(v.req));
  return { ok: true, value: { id, opcode: opcode as Opcode, body: body.body } };
}

export interface Reply {
  id: number;
  status: Status;
  body: unknown;
}

/** Reads a reply to a request of `opcodeOf(id)`; a reply that breaks the protocol is an error. */
export function decodeReply(frames: Frames, opcodeOf: (id: number) => Opcode | undefined): Decoded<Reply> {
  const fail = (id: number | undefined, message: string): Decoded<Reply> => ({ ok: false, id, status: Status.INTERNAL, message });
  if (frames.length !== 4 || frames[1]!.length !== 4 || frames[2]!.length !== 2) return fail(undefined, 'malformed reply frames');
  const id = frames[1]!.readUInt32BE();
  if (!frames[0]!.equals(HEADER_BYTES)) return fail(id, 'reply of another protocol version');
  const opcode = opcodeOf(id);
  if (opcode === undefined) return fail(undefined, 'reply to no pending request');
  if (frames[3]!.length > MAX_BODY_BYTES) return fail(id, 'reply body too large');
  const status = frames[2]!.readUInt16BE() as Status;
  const body = unpack(frames[3]!);
  if (!body.ok) return fail(id, 'reply body is not msgpack');
  const v = status === Status.OK ? VALIDATORS[opcode].res : validateError;
  if (!v(body.body)) return fail(id, `reply does not match its schema (${firstError(v)})`);
  return { ok: true, value: { id, status, body: body.body } };
}
