// The worker thread of CoreWorkers: one Core, one call at a time. Argument buffers were
// transferred here and are wiped after the call; outputs are transferred back, leaving
// nothing behind (Core wipes its own memory per call).
import { parentPort, workerData } from 'node:worker_threads';
import { Core } from './core';
import { CoreError } from './errors';
import type { WorkerReply, WorkerRequest } from './core-workers';

const port = parentPort!;
const loading = Core.load((workerData as { modulePath: string }).modulePath);

port.on('message', (request: WorkerRequest) => {
  void loading.then((core) => answer(core, request));
});

function answer(core: Core, request: WorkerRequest): void {
  let reply: WorkerReply;
  try {
    if (request.kind === 'snapshot') {
      reply = { id: request.id, ok: true, value: 0, out: [core.snapshot()] };
    } else {
      const { value, out } = core.call(request.fn, request.args, request.outputs);
      reply = { id: request.id, ok: true, value, out };
    }
  } catch (e) {
    reply = e instanceof CoreError
      ? { id: request.id, ok: false, core: { code: e.code, status: e.status, fn: e.fn }, message: e.message }
      : { id: request.id, ok: false, message: (e as Error).message };
  } finally {
    if (request.kind === 'call') for (const a of request.args) if (typeof a !== 'number') a.fill(0);
  }
  port.postMessage(reply, reply.ok ? reply.out.map((o) => o.buffer as ArrayBuffer) : []);
}
