// Named points where a crash test can stop the process dead. CERTD_CRASH_AT names one
// point; reaching it sends SIGKILL to this process, as a power cut or the OOM killer
// would stop it: no handler, no flush. Unset (always, outside the crash tests), a point
// costs one string comparison.
const AT = process.env.CERTD_CRASH_AT;

export function crashPoint(name: string): void {
  if (AT !== undefined && AT === name) process.kill(process.pid, 'SIGKILL');
}
