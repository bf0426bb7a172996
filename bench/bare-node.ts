/**
 * The floor under any Node server of these ranges, for the bench to measure beside ours and nginx: a bare
 * `node:http` server of one file, with no routing, no auth, no sessions and no logging, whose bytes are
 * read on the event loop (the file is in the page cache) and written from a fresh buffer. What it takes
 * to answer a seek is what Node itself costs here, waking an idle loop, parsing, writing; so the seek row
 * it gives says how much of our time is ours.
 *
 *   node --import tsx bench/bare-node.ts <file> <port>
 *
 * Serves GET with `Range: bytes=a-b` (at most 4 MiB) from `file`, on 127.0.0.1 only; anything else is 416.
 * Bench-only: it is not a server of this project.
 */
import { fstatSync, openSync, readSync } from 'node:fs';
import http from 'node:http';

const MAX_RANGE = 4 * 1024 * 1024;
const [file, portArg] = process.argv.slice(2);
if (!file || !portArg) throw new Error('usage: bare-node.ts <file> <port>');
const fd = openSync(file, 'r');
const size = fstatSync(fd).size;

const server = http.createServer((req, res) => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : NaN;
  const end = m ? Math.min(Number(m[2]), size - 1) : NaN;
  if (req.method !== 'GET' || !(start <= end) || end - start + 1 > MAX_RANGE) {
    res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    return void res.end();
  }
  const body = Buffer.allocUnsafe(end - start + 1);
  const n = readSync(fd, body, 0, body.length, start);
  res.writeHead(206, { 'Content-Type': 'video/mp4', 'Content-Range': `bytes ${start}-${start + n - 1}/${size}`, 'Content-Length': n });
  res.end(n === body.length ? body : body.subarray(0, n));
});
server.keepAliveTimeout = 65_000;
server.listen(Number(portArg), '127.0.0.1', () => process.stdout.write(`listening on ${portArg}\n`));
