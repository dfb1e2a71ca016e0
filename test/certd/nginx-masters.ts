// nginx masters the suites start through an NginxApplier: stopped when the test process
// exits, whatever way it ends (nginx outlives certd by design, not a test run).
import type { NginxApplier } from '../../src/certd/appliers/nginx';

const masters = new Set<NginxApplier>();
process.on('exit', () => {
  for (const a of masters) {
    const pid = a.masterPid();
    if (pid !== undefined) process.kill(pid, 'SIGTERM');
  }
});

export function stopAtExit(applier: NginxApplier): NginxApplier {
  masters.add(applier);
  return applier;
}
