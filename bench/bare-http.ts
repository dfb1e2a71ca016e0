// The limit for the service benchmark: a bare node:http server answering every request
// with the same bytes certd answered (argv: port file, body file). Prints "ready".
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';

const body = readFileSync(process.argv[3]!);
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  writeFileSync(process.argv[2]!, String((server.address() as { port: number }).port));
  process.stderr.write('{"msg":"ready"}\n');
});
