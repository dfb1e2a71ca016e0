// Users and groups by name, read from /etc/passwd and /etc/group (Node has no getpwnam):
// systemd-sysusers picks the ids when the image is installed, so the config names them.
import { readFileSync } from 'node:fs';

/** Field 0 (name) -> field 2 (numeric id) of a colon-separated account database. */
function ids(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && /^\d+$/.test(f[2]!)) out.set(f[0]!, Number(f[2]));
  }
  return out;
}

/** The uid of each user name; throws naming the first that /etc/passwd lacks. */
export function uidsOf(names: string[], passwd = '/etc/passwd'): number[] {
  if (names.length === 0) return [];
  const users = ids(passwd);
  return names.map((n) => {
    const uid = users.get(n);
    if (uid === undefined) throw new Error(`no user '${n}' in ${passwd}`);
    return uid;
  });
}

/** A group given by name (looked up in /etc/group) or by gid. */
export function gidOf(group: string | number, groupFile = '/etc/group'): number {
  if (typeof group === 'number') return group;
  const gid = ids(groupFile).get(group);
  if (gid === undefined) throw new Error(`no group '${group}' in ${groupFile}`);
  return gid;
}
