// certd's side of the keystore protocol: a DEALER socket with request ids, a timeout per
// call, and ZeroMQ's reconnect. A dead daemon or a lost reply is a KeystoreError
// (UNAVAILABLE or TIMEOUT), never a hang.
import { Dealer } from 'zeromq';
import { decodeReply, encodeRequest, wipeSecretRequest, type Frames } from './codec';
import { KeystoreError } from './errors';
import { type Bodies, Opcode, Status, type ErrorBody } from './protocol';
import { VALIDATORS, firstError } from './schemas';

interface Pending {
  opcode: Opcode;
  resolve(body: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export interface ClientOptions {
  /** Milliseconds a call may wait for its reply. */
  timeoutMs?: number;
  /** Milliseconds a call may wait for a connection to the daemon before UNAVAILABLE. */
  connectWaitMs?: number;
}

export class KeystoreClient {
  private readonly dealer: Dealer;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly timeoutMs: number;
  private connected: () => void = () => undefined;

  constructor(endpoint: string, options: ClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.dealer = new Dealer({
      // Queue only to a connected daemon: with no daemon a send waits connectWaitMs, then fails.
      immediate: true,
      sendTimeout: Math.min(options.connectWaitMs ?? 3000, this.timeoutMs),
      linger: 0,
      reconnectInterval: 100,
      reconnectMaxInterval: 1000,
    });
    this.dealer.connect(endpoint);
    void this.receive();
    void this.watch();
  }

  async call<O extends Opcode>(opcode: O, body: Bodies[O]['req'], timeoutMs = this.timeoutMs): Promise<Bodies[O]['res']> {
    if (this.closed) throw new KeystoreError(Status.UNAVAILABLE, 'keystore client is closed');
    const v = VALIDATORS[opcode];
    if (!v.req(body)) throw new KeystoreError(Status.BAD_REQUEST, firstError(v.req));
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const frames = encodeRequest(id, opcode, body);
    const reply = new Promise<Bodies[O]['res']>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new KeystoreError(Status.TIMEOUT, `keystored did not answer ${Opcode[opcode]} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { opcode, resolve: resolve as (b: unknown) => void, reject, timer });
      this.send(frames).catch(() => {
        const p = this.pending.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(id);
        reject(new KeystoreError(Status.UNAVAILABLE, 'keystored is not reachable'));
      });
    });
    return reply.finally(() => wipeSecretRequest(frames));
  }

  /** Called each time the socket (re)connects to the daemon, e.g. after keystored restarted. */
  onConnect(fn: () => void): void {
    this.connected = fn;
  }

  close(): void {
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new KeystoreError(Status.UNAVAILABLE, 'keystore client closed'));
      this.pending.delete(id);
    }
    this.dealer.close();
  }

  // zeromq allows one send in flight per socket: sends go out one after another.
  private send(frames: Frames): Promise<void> {
    const next = this.sending.then(() => this.dealer.send(frames));
    this.sending = next.catch(() => undefined);
    return next;
  }

  private async receive(): Promise<void> {
    try {
      for await (const frames of this.dealer) {
        const reply = decodeReply(frames as Frames, (id) => this.pending.get(id)?.opcode);
        if (!reply.ok) {
          // A reply we cannot read fails its call, if we know which; otherwise it is dropped.
          const p = reply.id !== undefined ? this.pending.get(reply.id) : undefined;
          if (p && reply.id !== undefined) this.settle(reply.id, p, new KeystoreError(reply.status, reply.message));
          continue;
        }
        const { id, status, body } = reply.value;
        const p = this.pending.get(id)!;
        this.settle(id, p, status === Status.OK ? body : new KeystoreError(status, (body as ErrorBody).message));
      }
    } catch {
      // The socket was closed.
    }
  }

  // A daemon that goes away takes its pending replies with it: fail them now rather than
  // at their timeouts (key generation may be given a minute).
  private async watch(): Promise<void> {
    try {
      for await (const event of this.dealer.events) {
        if (event.type === 'connect') this.connected();
        if (event.type !== 'disconnect') continue;
        for (const [id, p] of this.pending) this.settle(id, p, new KeystoreError(Status.UNAVAILABLE, 'keystored went away before it answered'));
      }
    } catch {
      // The socket was closed.
    }
  }

  private settle(id: number, p: Pending, outcome: unknown): void {
    clearTimeout(p.timer);
    this.pending.delete(id);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
  }
}
