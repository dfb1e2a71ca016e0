// One RFC 5424 syslog message: HEADER, STRUCTURED-DATA, MSG. Header fields are printable
// US-ASCII of bounded length (others become "_", an empty one the NILVALUE "-");
// PARAM-VALUEs escape '"', '\' and ']' (§6.3.3); control characters, which would break the
// one-line form receivers expect, become U+FFFD. MSG is UTF-8 with its BOM (§6.4).

export const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp',
  'ntp', 'audit', 'alert', 'clock', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
] as const;
export type Facility = (typeof FACILITIES)[number];

export const SEVERITY = { error: 3, warning: 4, notice: 5, info: 6 } as const;

export interface SyslogMessage {
  facility: Facility;
  severity: keyof typeof SEVERITY;
  /** ISO 8601 with a zone (Date.toISOString's form). */
  time: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  /** SD-ID (name@PEN for a private one) and its parameters; undefined values are left out. */
  sd: { id: string; params: Record<string, string | undefined> };
  msg: string;
}

const ascii = (s: string, max: number) => s.replace(/[^\x21-\x7e]/g, '_').slice(0, max) || '-';
const sdName = (s: string) => ascii(s.replace(/[=\]"]/g, '_'), 32);
const printable = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, '\ufffd');
const paramValue = (s: string) => printable(s).replace(/["\\\]]/g, (c) => `\\${c}`);

export function formatSyslog(m: SyslogMessage): string {
  const pri = FACILITIES.indexOf(m.facility) * 8 + SEVERITY[m.severity];
  const params = Object.entries(m.sd.params)
    .filter((p): p is [string, string] => p[1] !== undefined)
    .map(([k, v]) => ` ${sdName(k)}="${paramValue(v)}"`).join('');
  const header = `<${pri}>1 ${m.time} ${ascii(m.hostname, 255)} ${ascii(m.appName, 48)} ${ascii(m.procId, 128)} ${ascii(m.msgId, 32)}`;
  return `${header} [${sdName(m.sd.id)}${params}] \ufeff${printable(m.msg)}`;
}
