// The rule users-cli applies to a new password: at least MIN_LENGTH characters, and once
// the guessable parts are taken out (the user name, the realm, common passwords and words
// like "admin", also in l33t spelling, and years) at least MIN_REST characters of MIN_DISTINCT kinds
// must remain. "Password123!", "Adm1n-2024-!!" and "vms1-Secret-4411" (for vms1) fail;
// "kettle-orbit-42" passes.
// UserStore itself takes any password: the rule is for people choosing one.

export const MIN_LENGTH = 10;
const MIN_REST = 6;
const MIN_DISTINCT = 4;

// Lowercase. Common passwords and password roots, and words a camera's user would reach for.
const GUESSABLE = [
  'password', 'passwort', 'pass', 'admin', 'administrator', 'root', 'user', 'guest', 'test', 'demo', 'default',
  'changeme', 'secret', 'letmein', 'welcome', 'login', 'master', 'access', 'qwerty', 'qwertz', 'azerty',
  'asdfgh', 'zxcvbn', 'iloveyou', 'monkey', 'dragon', 'sunshine', 'princess', 'football', 'baseball',
  'superman', 'trustno', 'shadow', 'camera', 'axis', 'cert', 'certd', 'operator', 'viewer', 'service',
  'support', 'system', 'security', 'abc', 'xyz',
  '123456', '1234567890', '0987654321', '654321', '111111', '000000', '121212', '123123', '1q2w3e', '1qaz2wsx',
];

const YEAR = /(?:19|20)\d\d/g;

// Each maps one character to one, so positions in the mapped text are those of the original.
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '!': 'i', '|': 'l', '3': 'e', '4': 'a', '@': 'a', '5': 's', '$': 's', '7': 't', '+': 't', '8': 'b', '9': 'g' };

/** Why `password` is too weak for `name` in `realm`; undefined when it is good enough. */
export function passwordProblem(password: string, name: string, realm: string): string | undefined {
  if ([...password].length < MIN_LENGTH) return `password must have at least ${MIN_LENGTH} characters`;
  const chars = password.toLowerCase().split(''); // UTF-16 units, as indexOf counts
  const lower = chars.join('');
  const spelled = chars.map((c) => LEET[c] ?? c).join('');
  const guessable = [...GUESSABLE, name.toLowerCase(), realm.toLowerCase()].filter((w) => w.length >= 3);
  const taken = new Array<boolean>(lower.length).fill(false);
  for (const text of [lower, spelled]) {
    for (const word of guessable) {
      for (let i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) taken.fill(true, i, i + word.length);
    }
  }
  for (const m of lower.matchAll(YEAR)) taken.fill(true, m.index!, m.index! + m[0].length);
  const rest = chars.filter((_, i) => !taken[i]);
  if (rest.length < MIN_REST || new Set(rest).size < MIN_DISTINCT) {
    return `password is too guessable: without the user name, the realm and common words, at least ${MIN_REST} characters of ${MIN_DISTINCT} kinds must remain`;
  }
  return undefined;
}
