// Provisioning of certd's users (the users file holds digests, never passwords):
//   node dist/src/certd/users-cli.js add NAME ROLE     (password read from stdin)
//   node dist/src/certd/users-cli.js passwd NAME       (password read from stdin)
//   node dist/src/certd/users-cli.js remove NAME
//   node dist/src/certd/users-cli.js list
// The file is the one certd's config names (--config FILE, CERTD_CONFIG, or the default).
// certd reads it at start: restart certd after a change. New passwords must pass the rule
// of auth/password-policy.ts.
import { readFileSync } from 'node:fs';
import { passwordProblem } from './auth/password-policy';
import { UserStore, type Role } from './auth/users';
import { loadCertdConfig } from './config';

function password(name: string, realm: string): string {
  const text = readFileSync(0, 'utf8');
  const p = text.endsWith('\n') ? text.slice(0, -1) : text;
  const problem = passwordProblem(p, name, realm);
  if (problem) throw new Error(problem);
  return p;
}

function main(argv: string[]): void {
  const i = argv.indexOf('--config');
  const config = loadCertdConfig(i >= 0 ? argv[i + 1] : process.env.CERTD_CONFIG);
  const args = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
  const [cmd, name, role] = args;
  const first = UserStore.firstRun(config.users_file, config.realm);
  // The file did not exist: its admin's password is shown here, once, as certd would.
  if (first.created) process.stderr.write(`created ${config.users_file}: user "${first.user}", password "${first.password}" (shown once)\n`);
  const users = UserStore.load(config.users_file);
  switch (cmd) {
    case 'add':
      users.add(name!, role as Role, password(name!, users.realm));
      break;
    case 'passwd':
      if (!users.get(name!)) throw new Error(`no user ${name}`);
      users.setPassword(name!, password(name!, users.realm));
      break;
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

try {
  main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`users-cli: ${(e as Error).message}\n`);
  process.exit(1);
}
