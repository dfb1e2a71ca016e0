// The one file that touches WebAssembly: loads the crypto core (a WASI reactor built from
// mbedTLS and crypto-core/) with @wasmer/wasi, and calls its cc_* functions. Long calls go
// through core-workers.ts, whose threads each load a Core of their own.
//
// Every call runs against a fresh pool: inputs are copied into core memory, output slots
// are allocated, and in `finally` every region the call touched (inputs, slots, outputs)
// is zeroed and freed, whether the call succeeded, failed or threw.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { init, WASI } from '@wasmer/wasi';
import { CoreError } from './errors';

/** An argument of a core function: bytes (passed as pointer + length) or an int. */
export type Arg = Uint8Array | number;

/** A core function's non-negative result and its outputs. */
export interface CallResult {
  value: number;
  out: Uint8Array[];
}

interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  cc_core_init(): number;
  cc_alloc(len: number): number;
  cc_free(ptr: number): void;
  [fn: string]: unknown;
}

interface Region {
  ptr: number;
  len: number;
}

/** Where the build puts the module, relative to the compiled file (dist/wasm/). */
export const DEFAULT_MODULE_PATH = join(__dirname, '..', '..', 'build', 'wasm', 'certd-core.wasm');

const SLOT_BYTES = 8; // cc_buf on wasm32: uint8_t *p; size_t len

export class Core {
  private readonly exports: Exports;
  private pool: Region[] = [];
  /** Regions the last call used, kept for the pool tests (addresses only, no data). */
  private lastRegions: Region[] = [];

  private constructor(exports: Exports) {
    this.exports = exports;
  }

  static async load(path: string = DEFAULT_MODULE_PATH): Promise<Core> {
    await init();
    const module = await WebAssembly.compile(readFileSync(path));
    const wasi = new WASI({ args: [], env: {} });
    const instance = wasi.instantiate(module, {}) as WebAssembly.Instance;
    const exports = instance.exports as unknown as Exports;
    // A reactor: its constructors run once, then its functions may be called.
    exports._initialize();
    const core = new Core(exports);
    const status = exports.cc_core_init();
    if (status < 0) throw CoreError.fromStatus(status, 'cc_core_init');
    return core;
  }

  /**
   * Calls `fn` with `args`, followed by `outputs` cc_buf slots. Returns the function's
   * non-negative result and copies of the outputs (the caller owns them and should wipe
   * any that hold secrets). A negative result throws a CoreError.
   */
  call(fn: string, args: readonly Arg[], outputs = 0): CallResult {
    const f = this.exports[fn];
    if (typeof f !== 'function') throw new Error(`crypto core has no function ${fn}`);
    try {
      const wasmArgs: number[] = [];
      for (const arg of args) {
        if (typeof arg === 'number') {
          wasmArgs.push(arg);
        } else {
          wasmArgs.push(this.copyIn(arg), arg.length);
        }
      }
      const slots = outputs > 0 ? this.alloc(outputs * SLOT_BYTES) : 0;
      for (let i = 0; i < outputs; i++) wasmArgs.push(slots + i * SLOT_BYTES);

      const value = (f as (...a: number[]) => number)(...wasmArgs);

      const out: Uint8Array[] = [];
      const view = new DataView(this.exports.memory.buffer);
      for (let i = 0; i < outputs; i++) {
        const ptr = view.getUint32(slots + i * SLOT_BYTES, true);
        const len = view.getUint32(slots + i * SLOT_BYTES + 4, true);
        if (ptr !== 0) {
          this.pool.push({ ptr, len });
          out.push(new Uint8Array(this.exports.memory.buffer, ptr, len).slice());
        } else {
          out.push(new Uint8Array(0));
        }
      }
      if (value < 0) {
        for (const o of out) o.fill(0);
        throw CoreError.fromStatus(value, fn);
      }
      return { value, out };
    } finally {
      this.release();
    }
  }

  /** A copy of the whole core memory, for the tests that look for leftover secrets. */
  snapshot(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer).slice();
  }

  /** The regions the last call allocated, and how many are still held (always 0 between calls). */
  poolState(): { last: readonly Region[]; held: number } {
    return { last: this.lastRegions, held: this.pool.length };
  }

  private alloc(len: number): number {
    const ptr = this.exports.cc_alloc(len);
    if (ptr === 0) throw CoreError.fromStatus(-2, 'cc_alloc');
    this.pool.push({ ptr, len });
    return ptr;
  }

  private copyIn(bytes: Uint8Array): number {
    const ptr = this.alloc(bytes.length);
    new Uint8Array(this.exports.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }

  private release(): void {
    // The memory is fixed-size, so one view stays valid for every region.
    const mem = new Uint8Array(this.exports.memory.buffer);
    for (const r of this.pool) {
      mem.fill(0, r.ptr, r.ptr + r.len);
      this.exports.cc_free(r.ptr);
    }
    this.lastRegions = this.pool;
    this.pool = [];
  }
}
