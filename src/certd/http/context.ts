// Who is asking, for the layers below the HTTP core that need it without taking it as an
// argument (the audit trail): set by the App around each authenticated handler.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestContext {
  request_id: string;
  user: string;
  /** The client's address as the socket sees it. */
  source: string;
  /** Which of certd's APIs the path belongs to. */
  api: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

const APIS: [prefix: string, api: string][] = [
  ['/config/rest/cert/', 'cert.v1'],
  ['/config/discover', 'discovery'],
  ['/vapix/services', 'soap'],
  ['/api/cert/', '2n'],
  ['/api/', 'sps'],
  ['/certd/', 'certd.v1'],
  ['/metrics', 'metrics'],
];

export function apiOf(path: string): string {
  return APIS.find(([prefix]) => path.startsWith(prefix))?.[1] ?? 'other';
}

export function runInContext<T>(ctx: Omit<RequestContext, 'request_id'>, fn: () => T): T {
  return storage.run({ request_id: randomUUID(), ...ctx }, fn);
}

export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}
