// emscripten 3.1.6 insists on a JS definition of every undefined symbol. This entry only
// satisfies that check: the wasm keeps random_get as a wasi_snapshot_preview1 import,
// which the WASI runtime provides.
mergeInto(LibraryManager.library, { random_get: function () {} });
