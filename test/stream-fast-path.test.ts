/**
 * The stream bytes' fast path (app/server/stream-fast-path.ts): which requests it takes ahead of Express,
 * and that its answers are the Express route's answers, header for header and byte for byte.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pino } from 'pino';
import { streamFastPath } from '../app/server/stream-fast-path.ts';
import { writeOffsetFile } from './helpers/fixtures.ts';
import { startTestServer, type RawResponse, type TestServer } from './helpers/server.ts';

const silent = pino({ level: 'silent' });

describe('which requests the fast path takes', () => {
  const calls: { id: unknown; query: Readonly<Record<string, unknown>> }[] = [];
  const fast = streamFastPath(
    async (_req, _res, id, query) => {
      calls.push({ id, query });
    },
    [],
    silent,
  );
  const res = { setHeader: () => undefined, appendHeader: () => undefined } as unknown as ServerResponse;
  const takes = (method: string, url: string): boolean => fast({ method, url, headers: {} } as IncomingMessage, res);

  it('takes GET and HEAD of /api/stream/{id}, with or without a query', () => {
    calls.length = 0;
    assert.equal(takes('GET', '/api/stream/abc_D-9'), true);
    assert.equal(takes('HEAD', '/api/stream/abc'), true);
    assert.equal(takes('GET', '/api/stream/abc?session=s1&x=1'), true);
    assert.deepEqual(
      calls.map((c) => c.id),
      ['abc_D-9', 'abc', 'abc'],
    );
    assert.equal(calls[2]!.query.session, 's1');
  });
  it('parses the query as Express does: a repeated session is a list', () => {
    calls.length = 0;
    takes('GET', '/api/stream/abc?session=a&session=b');
    assert.deepEqual(calls[0]!.query.session, ['a', 'b']);
  });
  it('leaves everything else to Express', () => {
    for (const [method, url] of [
      ['POST', '/api/stream/abc'],
      ['OPTIONS', '/api/stream/abc'],
      ['GET', '/api/stream/abc/info'],
      ['GET', '/api/stream/abc/'],
      ['GET', '/api/stream/ab%43'],
      ['GET', '/API/STREAM/abc'],
      ['GET', '/api/stream/'],
      ['GET', 'http://host/api/stream/abc'],
      ['GET', '/api/streams/abc'],
    ] as const) {
      assert.equal(takes(method, url), false, `${method} ${url}`);
    }
  });
});

describe('when the fast path and the Express route answer the same request', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer(async (lib) => {
      await writeOffsetFile(path.join(lib, 'a.mp4'), 300_000);
    });
  });
  after(() => ts.close());

  // A trailing slash is the same route to Express, and not a URL the fast path takes.
  const both = async (suffix: string, opts: Parameters<TestServer['request']>[1] = {}): Promise<[RawResponse, RawResponse]> => {
    const id = ts.idOf('a.mp4');
    const [p, q = ''] = suffix.split('?');
    return [await ts.request(`/api/stream/${id}${p}${q ? `?${q}` : ''}`, opts), await ts.request(`/api/stream/${id}${p}/${q ? `?${q}` : ''}`, opts)];
  };
  const same = ([fast, express]: [RawResponse, RawResponse]): void => {
    const strip = (h: RawResponse['headers']): Record<string, unknown> => {
      const { date: _date, ...rest } = h;
      return rest;
    };
    assert.equal(fast.status, express.status);
    assert.deepEqual(strip(fast.headers), strip(express.headers));
    assert.ok(fast.body.equals(express.body), 'the bodies differ');
  };

  it('a 206 with a Bearer token', async () => same(await both('', { headers: { Range: 'bytes=100-70000' } })));
  it('a HEAD', async () => same(await both('', { method: 'HEAD', headers: { Range: 'bytes=0-9' } })));
  it('a 200 of the whole file', async () => same(await both('')));
  it('a 416 with its Content-Range', async () => {
    const r = await both('', { headers: { Range: 'bytes=999999-' } });
    assert.equal(r[0].status, 416);
    same(r);
  });
  it('a 304 for a current ETag', async () => {
    const etag = String((await ts.request(`/api/stream/${ts.idOf('a.mp4')}`, { method: 'HEAD' })).headers.etag);
    const r = await both('', { headers: { 'If-None-Match': etag } });
    assert.equal(r[0].status, 304);
    same(r);
  });
  it('a 401 without credentials, in Korean when asked', async () => {
    const r = await both('', { as: false, headers: { 'Accept-Language': 'ko-KR,ko;q=0.9' } });
    assert.equal(r[0].status, 401);
    assert.equal(r[0].headers['www-authenticate'], 'Bearer realm="wsoptv"');
    assert.match(r[0].json<{ error: { message: string } }>().error.message, /[가-힣]/);
    same(r);
  });
  it('a 401 for a malformed or repeated session', async () => {
    same(await both('?session=not-a-session!', { as: false }));
    same(await both('?session=aaaaaaaaaaaaaaaaaaaaaa&session=bbbbbbbbbbbbbbbbbbbbbb', { as: false }));
  });
  it('a HEAD refused: the envelope headers without its body', async () => {
    const r = await both('', { as: false, method: 'HEAD' });
    assert.equal(r[0].status, 401);
    assert.equal(r[0].body.length, 0);
    same(r);
  });
});
