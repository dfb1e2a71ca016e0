// The limit for the IPC benchmark: a bare ZeroMQ ROUTER that sends every message straight
// back, in its own process like keystored. Prints "ready" once bound.
import { Router } from 'zeromq';

async function main(): Promise<void> {
  const router = new Router({ linger: 0 });
  await router.bind(process.argv[2]!);
  process.stderr.write('{"msg":"ready"}\n');
  let sending = Promise.resolve();
  for await (const frames of router) {
    sending = sending.then(() => router.send(frames));
  }
}

void main();
