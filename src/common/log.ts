// One JSON line per event on stderr (journald on a camera keeps it). Callers pass fields,
// never secrets: no key bytes, PINs, passphrases or request bodies reach a log line.
// A logging library would add ~5 MB RSS for what these few lines do.
export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(name: string, min: Level = (process.env.CERTD_LOG_LEVEL as Level) ?? 'info',
  write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const at = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < (ORDER[min] ?? 20)) return;
    write(JSON.stringify({ t: new Date().toISOString(), level, name, msg, ...fields }) + '\n');
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
