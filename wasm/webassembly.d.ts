// The part of the WebAssembly JS API that wasm/core.ts uses. Node has it at run time;
// @types/node leaves it to the DOM library, which a Node daemon should not pull in.
declare namespace WebAssembly {
  interface Module {}
  interface Instance {
    readonly exports: Record<string, unknown>;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
  }
  function compile(bytes: Uint8Array): Promise<Module>;
}
