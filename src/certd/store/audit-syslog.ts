// A copy of every audit record to syslog, as one RFC 5424 datagram over UDP: MSGID the
// operation, the record's fields as structured data under certd@32473 (32473: the
// documentation enterprise number of RFC 5612). The file (audit-log.ts) stays the record
// of truth: a datagram is sent and forgotten, so a missing or slow receiver neither blocks
// nor fails a change. Send errors are counted; the first one is logged.
import { createSocket, type Socket } from 'node:dgram';
import { hostname } from 'node:os';
import { isIPv6 } from 'node:net';
import { type Facility, formatSyslog } from '../../common/rfc5424';
import type { AuditRecord, AuditSink } from '../domain/audit';

export const SD_ID = 'certd@32473';
const MAX_WAITING = 256;

export interface SyslogTarget {
  /** An IP address (no name lookup per record). */
  host: string;
  port: number;
  facility: Facility;
  app_name: string;
}

export function auditSyslogLine(r: AuditRecord, target: Pick<SyslogTarget, 'facility' | 'app_name'>, host = hostname(), pid = process.pid): string {
  const what = r.target?.alias ?? r.target?.id ?? r.target?.key_id;
  return formatSyslog({
    facility: target.facility,
    severity: r.outcome === 'ok' ? 'info' : 'warning',
    time: r.time, hostname: host, appName: target.app_name, procId: String(pid), msgId: r.operation,
    sd: {
      id: SD_ID,
      params: {
        user: r.user, source: r.source, api: r.api, operation: r.operation, outcome: r.outcome, request_id: r.request_id,
        target_id: r.target?.id, target_alias: r.target?.alias, target_keystore: r.target?.keystore, target_key_id: r.target?.key_id,
      },
    },
    msg: `${r.user} ${r.operation}${what === undefined ? '' : ` ${what}`}: ${r.outcome}`,
  });
}

export class SyslogCopy implements AuditSink {
  /** Datagrams that could not be sent. */
  failures = 0;
  private readonly socket: Socket;
  /** Lines appended before the socket's connect finished (at start). */
  private waiting: string[] | undefined = [];

  constructor(
    private readonly inner: AuditSink,
    private readonly target: SyslogTarget,
    private readonly onFirstFailure: (e: Error) => void,
  ) {
    this.socket = createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
    this.socket.on('error', (e) => this.failed(e));
    // Connected: a receiver that is not there comes back as ECONNREFUSED, counted.
    this.socket.connect(target.port, target.host, () => {
      const waiting = this.waiting!;
      this.waiting = undefined;
      for (const line of waiting) this.send(line);
    });
    this.socket.unref();
  }

  append(record: AuditRecord): void {
    this.inner.append(record);
    const line = auditSyslogLine(record, this.target);
    if (!this.waiting) this.send(line);
    else if (this.waiting.length < MAX_WAITING) this.waiting.push(line);
    else this.failed(new Error('the socket is not connected yet'));
  }

  read(): unknown[] {
    return this.inner.read();
  }

  close(): void {
    this.socket.close();
  }

  private send(line: string): void {
    try {
      this.socket.send(line, (e) => e && this.failed(e));
    } catch (e) {
      this.failed(e as Error);
    }
  }

  private failed(e: Error): void {
    if (this.failures++ === 0) this.onFirstFailure(e);
  }
}
