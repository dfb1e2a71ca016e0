// Crypto-core calls that take long (PKCS#12 KDFs, RSA keygen, RSA signing) run here, in
// worker threads with a core of their own, so that the daemon's event loop keeps serving.
// A small pool (one worker by default: cameras have two cores) created on first use,
// reused, and stopped after a while idle to give its memory back; calls wait in a queue.
//
// Secrets cross the thread boundary by transfer, not by copy: each byte argument is copied
// once into a fresh buffer that is transferred (the caller wipes its own, as with Core),
// the worker wipes what it received after the call, and outputs come back transferred, so
// no thread keeps a copy. Core errors come back as CoreError with their code.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFAULT_MODULE_PATH, type Arg, type CallResult } from './core';
import { CoreError, type CoreErrorCode } from './errors';

/** What the pool sends a worker. */
export type WorkerRequest =
  | { id: number; kind: 'call'; fn: string; args: Arg[]; outputs: number }
  | { id: number; kind: 'snapshot' };

/** What a worker answers. */
export type WorkerReply =
  | { id: number; ok: true; value: number; out: Uint8Array[] }
  | { id: number; ok: false; core?: { code: CoreErrorCode; status: number; fn: string }; message: string };

export interface CoreWorkersOptions {
  /** Worker threads at most (default 1). */
  size?: number;
  /** Milliseconds without work after which a worker is stopped (default 30 s). */
  idleMs?: number;
  modulePath?: string;
}

interface Job {
  request: WorkerRequest;
  transfer: ArrayBuffer[];
  resolve(r: CallResult): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  idle: NodeJS.Timeout | undefined;
}

const WORKER_FILE = join(__dirname, 'core-worker.js');

export class CoreWorkers {
  private readonly size: number;
  private readonly idleMs: number;
  private readonly modulePath: string;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: CoreWorkersOptions = {}) {
    this.size = Math.max(1, options.size ?? 1);
    this.idleMs = options.idleMs ?? 30_000;
    this.modulePath = options.modulePath ?? DEFAULT_MODULE_PATH;
  }

  /** As Core.call, in a worker. */
  call(fn: string, args: readonly Arg[], outputs = 0): Promise<CallResult> {
    const transfer: ArrayBuffer[] = [];
    const copies = args.map((a) => {
      if (typeof a === 'number') return a;
      // An ArrayBuffer of its own, off V8's heap: new Uint8Array(a) of a short input (a
      // passphrase) lives on the heap, where a garbage collection may copy it and leave
      // the old bytes behind, out of reach of any wipe.
      const copy = new Uint8Array(new ArrayBuffer(a.length));
      copy.set(a);
      transfer.push(copy.buffer);
      return copy;
    });
    return this.submit({ id: this.nextId++, kind: 'call', fn, args: copies, outputs }, transfer);
  }

  /** Each running worker's core memory, for the tests that look for leftover secrets. */
  async snapshots(): Promise<Uint8Array[]> {
    const live = this.slots.length;
    const out: Uint8Array[] = [];
    // Each snapshot job goes to whichever worker is free; with one worker that is it.
    for (let i = 0; i < live; i++) out.push((await this.submit({ id: this.nextId++, kind: 'snapshot' }, [])).out[0]!);
    return out;
  }

  /** How many worker threads run now. */
  get running(): number {
    return this.slots.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('crypto workers closed'));
    await Promise.all(this.slots.map((s) => this.stop(s, new Error('crypto workers closed'))));
  }

  private submit(request: WorkerRequest, transfer: ArrayBuffer[]): Promise<CallResult> {
    if (this.closed) return Promise.reject(new Error('crypto workers closed'));
    return new Promise<CallResult>((resolve, reject) => {
      this.queue.push({ request, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === undefined);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const job = this.queue.shift()!;
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = undefined;
      slot.job = job;
      slot.worker.ref();
      try {
        slot.worker.postMessage(job.request, job.transfer);
      } catch (e) {
        slot.job = undefined;
        this.wipeRequest(job.request);
        job.reject(e as Error);
      }
    }
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_FILE, { workerData: { modulePath: this.modulePath } });
    const slot: Slot = { worker, job: undefined, idle: undefined };
    worker.on('message', (reply: WorkerReply) => this.settle(slot, reply));
    worker.on('error', (e) => void this.stop(slot, e));
    worker.on('exit', () => void this.stop(slot, new Error('crypto worker stopped')));
    this.slots.push(slot);
    return slot;
  }

  private settle(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    slot.job = undefined;
    slot.worker.unref();
    slot.idle = setTimeout(() => void this.stop(slot, undefined), this.idleMs);
    slot.idle.unref();
    if (job && job.request.id === reply.id) {
      if (reply.ok) job.resolve({ value: reply.value, out: reply.out });
      else job.reject(reply.core ? new CoreError(reply.core.code, reply.message, reply.core.status, reply.core.fn) : new Error(reply.message));
    }
    this.dispatch();
  }

  /** Ends a worker; its call, if any, fails with `why`. Queued calls go to another. */
  private async stop(slot: Slot, why: Error | undefined): Promise<void> {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    if (slot.idle) clearTimeout(slot.idle);
    const job = slot.job;
    slot.job = undefined;
    if (job) job.reject(why ?? new Error('crypto worker stopped'));
    await slot.worker.terminate();
    if (!this.closed) this.dispatch();
  }

  private wipeRequest(request: WorkerRequest): void {
    if (request.kind === 'call') for (const a of request.args) if (typeof a !== 'number') a.fill(0);
  }
}
