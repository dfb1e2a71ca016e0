// wpa_cli, the supplicant's control client: one command on its control socket, and the
// wait for the outcome of an authentication (its `status` lines).
import { execFile } from 'node:child_process';

export interface PaeStatus {
  /** Supplicant PAE state: CONNECTING, AUTHENTICATING, AUTHENTICATED, HELD, … */
  pae?: string;
  /** suppPortStatus: Authorized or Unauthorized. */
  port?: string;
  /** EAP state: IDLE, SUCCESS, FAILURE, … */
  eap?: string;
}

export class WpaCli {
  constructor(private readonly bin: string, private readonly ctrlDir: string, private readonly iface: string, private readonly clientDir?: string) {}

  /** Runs one command; throws when wpa_cli cannot reach the supplicant or it answers FAIL. */
  run(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.bin, ['-p', this.ctrlDir, '-i', this.iface, ...(this.clientDir ? ['-s', this.clientDir] : []), ...args], { timeout: 5_000 }, (err, stdout) => {
        const out = String(stdout).trim();
        if (err) reject(new Error(`wpa_cli ${args[0]}: ${out.split('\n')[0] || err.message}`));
        else if (/^FAIL/.test(out)) reject(new Error(`wpa_cli ${args[0]}: the supplicant answered FAIL`));
        else resolve(out);
      });
    });
  }

  async status(): Promise<PaeStatus> {
    const out = await this.run('status');
    const field = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(out)?.[1];
    return { pae: field('Supplicant PAE state'), port: field('suppPortStatus'), eap: field('EAP state') };
  }

  /**
   * Waits until the port is authorized; throws when the authenticator refuses (HELD, EAP
   * FAILURE) or `timeoutMs` passes. Callers run it right after `reconfigure`, which resets
   * the state machines, so an earlier AUTHENTICATED is never read as this one.
   */
  async waitAuthenticated(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.status();
      if (s.pae === 'AUTHENTICATED' && s.port === 'Authorized') return;
      if (s.pae === 'HELD' || s.eap === 'FAILURE') throw new Error(`802.1X authentication failed (PAE ${s.pae}, EAP ${s.eap})`);
      if (Date.now() > deadline) throw new Error(`802.1X authentication did not finish in ${timeoutMs} ms (PAE ${s.pae ?? '?'})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
