// Provisioning of certd's users (the users file holds digests, never passwords):
//   node dist/src/certd/users-cli.js add NAME ROLE     (password read from stdin)
//   node dist/src/certd/users-cli.js passwd NAME       (password read from stdin)
//   node dist/src/certd/users-cli.js remove NAME
//   node dist/src/certd/users-cli.js list
// The file is the one certd's config names (--config FILE, CERTD_CONFIG, or the default).
// certd reads it at start: restart certd after a change. New passwords must pass the rule
// of auth/password-policy.ts.
// add and passwd ask keystored to seal the password for WS-UsernameToken (auth/wsse-scheme.ts);
// when it cannot (not running, or this user not among its allowed_uids) the password is set
// anyway and the tool says the user has no UsernameToken until a set that keystored seals.
import { readFileSync } from 'node:fs';
import { KeystoreClient } from '../../ipc/client';
import { Opcode } from '../../ipc/protocol';
import { endpointFor } from '../../ipc/server';
import { passwordProblem } from './auth/password-policy';
import { UserStore, type Role } from './auth/users';
import { loadCertdConfig, type CertdConfig } from './config';

async function seal(config: CertdConfig, name: string, password: string): Promise<string | undefined> {
  const client = new KeystoreClient(endpointFor(config.keystored_socket_dir), { timeoutMs: 5000, connectWaitMs: 2000 });
  const bytes = Buffer.from(password, 'utf8');
  try {
    return Buffer.from((await client.call(Opcode.SEAL_PASSWORD, { password: bytes })).sealed).toString('base64');
  } catch (e) {
    process.stderr.write(`users-cli: keystored did not seal the password (${(e as Error).message}): ${name} cannot use WS-UsernameToken until its password is set again with keystored running\n`);
    return undefined;
  } finally {
    bytes.fill(0);
    client.close();
  }
}

function password(name: string, realm: string): string {
  const text = readFileSync(0, 'utf8');
  const p = text.endsWith('\n') ? text.slice(0, -1) : text;
  const problem = passwordProblem(p, name, realm);
  if (problem) throw new Error(problem);
  return p;
}

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--config');
  const config = loadCertdConfig(i >= 0 ? argv[i + 1] : process.env.CERTD_CONFIG);
  const args = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
  const [cmd, name, role] = args;
  const first = UserStore.firstRun(config.users_file, config.realm);
  // The file did not exist: its admin's password is shown here, once, as certd would.
  if (first.created) process.stderr.write(`created ${config.users_file}: user "${first.user}", password "${first.password}" (shown once)\n`);
  const users = UserStore.load(config.users_file);
  if (first.created) users.setPassword(first.user, first.password, await seal(config, first.user, first.password));
  switch (cmd) {
    case 'add': {
      if (users.get(name!)) throw new Error(`user ${name} exists`);
      const p = password(name!, users.realm);
      users.add(name!, role as Role, p, await seal(config, name!, p));
      break;
    }
    case 'passwd': {
      if (!users.get(name!)) throw new Error(`no user ${name}`);
      const p = password(name!, users.realm);
      users.setPassword(name!, p, await seal(config, name!, p));
      break;
    }
    case 'remove':
      users.remove(name!);
      break;
    case 'list':
      for (const u of users.list()) process.stdout.write(`${u.name}\t${u.role}\n`);
      break;
    default:
      throw new Error('usage: users-cli.js [--config FILE] add NAME ROLE | passwd NAME | remove NAME | list');
  }
}

main(process.argv.slice(2)).then(() => process.exit(0), (e: Error) => {
  process.stderr.write(`users-cli: ${e.message}\n`);
  process.exit(1);
});
