// Requests pipelined on one connection are handled one after another: the next starts once
// the answer before it has been handed to the kernel. A client that sends many requests and
// reads slowly therefore has at most one answer waiting in certd's memory, and node:http
// stops reading its connection meanwhile (it pauses a socket whose writes wait); requests
// already read wait their turn, at most `maxWaiting` of them, and one more closes the
// connection. Answers leave in order either way (HTTP/1.1 pipelining).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Turns {
  busy: boolean;
  waiting: [IncomingMessage, ServerResponse][];
}

export function oneAtATime(listener: RequestListener, maxWaiting: number): RequestListener {
  const connections = new WeakMap<Socket, Turns>();
  const next = (turns: Turns) => {
    const item = turns.waiting.shift();
    if (!item || item[0].socket.destroyed) {
      turns.waiting.length = 0;
      turns.busy = false;
      return;
    }
    turns.busy = true;
    const [req, res] = item;
    // 'close': finished (handed to the kernel) or the connection is gone.
    res.once('close', () => next(turns));
    listener(req, res);
  };
  return (req, res) => {
    const socket = req.socket;
    if (socket.destroyed) return;
    let turns = connections.get(socket);
    if (!turns) connections.set(socket, (turns = { busy: false, waiting: [] }));
    if (turns.waiting.length >= maxWaiting) {
      turns.waiting.length = 0;
      socket.destroy();
      return;
    }
    turns.waiting.push([req, res]);
    if (!turns.busy) next(turns);
  };
}
