// keystored's side of the keystore protocol: a ROUTER socket on ipc:// in a 0700 folder,
// the socket file 0600 from the moment it is bound, and a ZAP handler that admits only
// peers whose uid is allowed. With a socket group (keystored and certd as two users) the
// folder is 0710 and the socket 0660, both of that group: its members may reach the socket,
// and the ZAP check still admits only the allowed uids among them. Requests are decoded,
// handed to the dispatcher, answered.
import { chmodSync, chownSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Context, Router } from 'zeromq';
import { decodeRequest, encodeReply, wipeSecretRequest, type Frames } from './codec';
import { KeystoreError } from './errors';
import { Opcode, Status } from './protocol';
import { VALIDATORS } from './schemas';

export type Handler = (opcode: Opcode, body: unknown) => Promise<unknown>;

export interface ServerOptions {
  /** Folder of the socket; created 0700 if missing, refused if it is not ours or is open to others. */
  socketDir: string;
  /** uids allowed to connect; the daemon's own uid is always allowed. */
  allowedUids?: number[];
  /** Group of the folder (0710) and the socket (0660); the daemon must be a member. None: 0700 and 0600. */
  socketGid?: number;
  /** Called for each refused peer, with its uid (never with request data). */
  onRefused?: (uid: number | undefined) => void;
  /** Called for each request that failed with an error that is not a KeystoreError. */
  onInternalError?: (opcode: Opcode, e: unknown) => void;
}

export const SOCKET_NAME = 'keystored.sock';

export function endpointFor(socketDir: string): string {
  return `ipc://${join(socketDir, SOCKET_NAME)}`;
}

export class KeystoreServer {
  private readonly context = new Context();
  private readonly router = new Router({ context: this.context, linger: 0 });
  private readonly zap = new Router({ context: this.context, linger: 0 });
  private readonly allowed: Set<number>;
  private sending: Promise<void> = Promise.resolve();
  private loops: Promise<void>[] = [];

  constructor(private readonly handler: Handler, private readonly options: ServerOptions) {
    this.allowed = new Set([process.getuid!(), ...(options.allowedUids ?? [])]);
  }

  async start(): Promise<string> {
    const dir = this.options.socketDir;
    const gid = this.options.socketGid;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== process.getuid!()) throw new Error(`socket folder ${dir} is not a folder owned by this user`);
    chmodSync(dir, 0o700);
    if (gid !== undefined) {
      toGroup(dir, gid);
      chmodSync(dir, 0o710);
    }

    await this.zap.bind('inproc://zeromq.zap.01');
    this.loops.push(this.authenticate());
    this.router.zapDomain = 'certd-keystore';
    // umask makes the socket file 0600 as it is created: no window in which others could connect.
    const endpoint = endpointFor(dir);
    const old = process.umask(0o177);
    try {
      await this.router.bind(endpoint);
    } finally {
      process.umask(old);
    }
    if (gid !== undefined) {
      // Given to the group while still 0600, then opened to it.
      const socket = join(dir, SOCKET_NAME);
      toGroup(socket, gid);
      chmodSync(socket, 0o660);
    }
    this.loops.push(this.serve());
    return endpoint;
  }

  async stop(): Promise<void> {
    this.router.close();
    this.zap.close();
    await Promise.allSettled(this.loops);
    await this.sending.catch(() => undefined);
  }

  // ZAP (RFC 27): for ipc peers libzmq reports the address as "<host>:<uid>:<gid>:<pid>".
  private async authenticate(): Promise<void> {
    try {
      for await (const [routing, empty, version, requestId, , address] of this.zap) {
        const uid = parseUid(address?.toString('ascii'));
        const ok = uid !== undefined && this.allowed.has(uid);
        if (!ok) this.options.onRefused?.(uid);
        await this.zap.send([routing!, empty!, version!, requestId!, ok ? '200' : '400', ok ? 'OK' : 'uid not allowed', ok ? String(uid) : '', '']);
      }
    } catch {
      // closed
    }
  }

  private async serve(): Promise<void> {
    try {
      for await (const [routing, ...frames] of this.router) {
        void this.handle(routing!, frames as Frames);
      }
    } catch {
      // closed
    }
  }

  private async handle(routing: Buffer, frames: Frames): Promise<void> {
    try {
      await this.answer(routing, frames);
    } finally {
      wipeSecretRequest(frames);
    }
  }

  private async answer(routing: Buffer, frames: Frames): Promise<void> {
    const req = decodeRequest(frames);
    if (!req.ok) {
      // Without a request id the peer could not match a reply: drop it.
      if (req.id !== undefined) await this.reply(routing, encodeReply(req.id, req.status, { message: req.message }));
      return;
    }
    const { id, opcode, body } = req.value;
    let out: Frames;
    try {
      const result = await this.handler(opcode, body);
      // A backend bug must not put a malformed reply on the wire.
      out = VALIDATORS[opcode].res(result)
        ? encodeReply(id, Status.OK, result)
        : encodeReply(id, Status.INTERNAL, { message: 'keystored built an invalid reply' });
    } catch (e) {
      if (e instanceof KeystoreError) {
        out = encodeReply(id, e.status, { message: e.message.slice(0, 512) });
      } else {
        this.options.onInternalError?.(opcode, e);
        out = encodeReply(id, Status.INTERNAL, { message: 'internal keystored error' });
      }
    }
    await this.reply(routing, out);
  }

  private reply(routing: Buffer, frames: Frames): Promise<void> {
    const next = this.sending.then(() => this.router.send([routing, ...frames]));
    this.sending = next.catch(() => undefined);
    return next.catch(() => undefined);
  }
}

function toGroup(path: string, gid: number): void {
  try {
    chownSync(path, process.getuid!(), gid);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot give ${path} to group ${gid} (${code}${code === 'EPERM' ? ': this user is not a member of it' : ''})`);
  }
}

function parseUid(address: string | undefined): number | undefined {
  const parts = address?.split(':') ?? [];
  if (parts.length < 4) return undefined;
  const uid = Number(parts[parts.length - 3]);
  return Number.isInteger(uid) && uid >= 0 ? uid : undefined;
}
