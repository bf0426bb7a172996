/**
 * The rules under the live library, each on its own: the scan trigger's timing on a driven clock, the
 * periodic rescan, how the library shares and refuses scans, how it keeps ids and rows across scans and
 * outages, and the two settings with their errors (also through the real CLI).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, loadConfig, PROJECT_ROOT, usage } from '../app/config/config.ts';
import { createLibrary, watchLibrary, type Library, type Reachability, type ScanReport, type WatchedLibrary } from '../app/library/index.ts';
import { ScanTrigger, type ScanRequest, type Scheduler } from '../app/library/scan-trigger.ts';
import { createLogger } from '../app/log.ts';
import { ContentStore } from '../app/persistence/content-store.ts';
import { openDatabase } from '../app/persistence/db.ts';
import { tempDir } from './helpers/fixtures.ts';

const HEADS_UP = path.join(PROJECT_ROOT, 'samples', 'wsop-sample-heads-up.mp4');
const TIMINGS = { quietMs: 1000, maxWaitMs: 3000 };

/** Timers on a clock the test moves; due timers run in order, with the promises they start. */
class ManualScheduler implements Scheduler {
  ms = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = (): number => this.ms;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.nextId;
    this.timers.set(id, { at: this.ms + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves the clock forward by `ms`, running every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.ms + ms;
    for (;;) {
      await settle();
      const due = [...this.timers].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.ms = due[1].at;
      due[1].fn();
    }
    this.ms = end;
    await settle();
  }
}

/** Lets pending promise callbacks and I/O run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A scan the test finishes by hand, with a record of what was asked. */
function manualScans(scheduler: ManualScheduler): { runs: (ScanRequest & { at: number })[]; maxAtOnce: () => number; finish: () => void; run: (r: ScanRequest) => Promise<void> } {
  const runs: (ScanRequest & { at: number })[] = [];
  const pending: (() => void)[] = [];
  let active = 0;
  let most = 0;
  return {
    runs,
    maxAtOnce: () => most,
    finish: () => pending.shift()?.(),
    run: (r) => {
      runs.push({ ...r, at: scheduler.now() });
      most = Math.max(most, ++active);
      return new Promise<void>((resolve) => pending.push(resolve)).finally(() => active--);
    },
  };
}

/** A trigger on a manual clock, whose scans the test finishes by hand. */
function manualTrigger(): { clock: ManualScheduler; scans: ReturnType<typeof manualScans>; trigger: ScanTrigger } {
  const clock = new ManualScheduler();
  const scans = manualScans(clock);
  return { clock, scans, trigger: new ScanTrigger(scans.run, clock, TIMINGS) };
}

describe('the scan trigger (a resettable timer)', () => {
  it('a burst with short gaps is one scan, a quiet second after its last event, with duplicate paths collapsed', async () => {
    const { clock, scans, trigger } = manualTrigger();
    trigger.notify('/lib/a.mp4');
    await clock.advance(500);
    trigger.notify('/lib/a.mp4');
    await clock.advance(400);
    trigger.notify('/lib/b.json');
    trigger.notify('/lib/a.mp4');
    await clock.advance(999);
    assert.equal(scans.runs.length, 0, 'each event resets the timer');
    await clock.advance(1);
    assert.equal(scans.runs.length, 1);
    assert.equal(scans.runs[0]!.at, 1900);
    assert.deepEqual(scans.runs[0]!.paths, ['/lib/a.mp4', '/lib/b.json']);
    assert.deepEqual(scans.runs[0]!.reasons, ['changes']);
    scans.finish();
    await clock.advance(10_000);
    assert.equal(scans.runs.length, 1, 'nothing more to scan');
  });

  it('events that never pause are scanned at most 3 s after the first, again and again', async () => {
    const clock = new ManualScheduler();
    const scans = manualScans(clock);
    const trigger = new ScanTrigger(async (r) => void scans.runs.push({ ...r, at: clock.now() }), clock, TIMINGS);
    for (let t = 0; t < 10_000; t += 200) {
      trigger.notify(`/lib/growing.mp4`);
      await clock.advance(200);
    }
    assert.deepEqual(scans.runs.map((r) => r.at), [3000, 6000, 9000]);
  });

  it('events during a scan wait for it and make one more scan after it ("already scanning, will retry")', async () => {
    const { clock, scans, trigger } = manualTrigger();
    trigger.notify('/lib/1.mp4');
    await clock.advance(1000);
    assert.equal(scans.runs.length, 1);
    for (let i = 0; i < 50; i++) trigger.notify(`/lib/during-${i % 10}.mp4`);
    trigger.request('periodic');
    await clock.advance(20_000);
    assert.equal(scans.runs.length, 1, 'no second scan while the first runs');
    assert.equal(trigger.busy, true);
    scans.finish();
    await clock.advance(0);
    assert.equal(scans.runs.length, 2, 'one more scan right after (a periodic request does not wait for quiet)');
    assert.equal(scans.runs[1]!.retried, true);
    assert.equal(scans.runs[1]!.paths.length, 10);
    assert.deepEqual([...scans.runs[1]!.reasons].sort(), ['changes', 'periodic']);
    scans.finish();
    await clock.advance(10_000);
    assert.equal(scans.runs.length, 2);
    assert.equal(scans.maxAtOnce(), 1);
    assert.equal(trigger.busy, false);
  });

  it('after a scan that threw, the next event scans again', async () => {
    const clock = new ManualScheduler();
    let calls = 0;
    const trigger = new ScanTrigger(
      async () => {
        calls++;
        if (calls === 1) throw new Error('database is locked');
      },
      clock,
      TIMINGS,
    );
    trigger.notify('/lib/a.mp4');
    await clock.advance(1000);
    trigger.notify('/lib/a.mp4');
    await clock.advance(1000);
    assert.equal(calls, 2);
  });

  it('close cancels a waiting scan and waits for the running one', async () => {
    const { clock, scans, trigger } = manualTrigger();
    trigger.notify('/lib/a.mp4');
    await clock.advance(1000);
    trigger.notify('/lib/b.mp4');
    let closed = false;
    const closing = trigger.close().then(() => (closed = true));
    await clock.advance(100);
    assert.equal(closed, false, 'close waits for the running scan');
    scans.finish();
    await closing;
    trigger.notify('/lib/c.mp4');
    await clock.advance(60_000);
    assert.equal(scans.runs.length, 1, 'no scan after close');
  });
});

/** A library that only counts scans; its root is a real folder so the watcher can watch it. */
function countingLibrary(): WatchedLibrary & { scans: number } {
  const state: Reachability = { reachable: true, since: new Date(0).toISOString(), rootError: null };
  const report: ScanReport = { files: 0, added: 0, updated: 0, removed: 0, unplayable: 0, probeBytesRead: 0, maxProbeBytes: 0, sidecarErrors: [], ms: 0, rootError: null };
  const lib = {
    scans: 0,
    scan: async () => {
      lib.scans++;
      return report;
    },
    reachability: () => state,
    onReachabilityChange: () => () => undefined,
  };
  return lib;
}

describe('the periodic rescan (--rescan-every)', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  before(async () => (tmp = await tempDir()));
  after(() => tmp.cleanup());

  it('runs once the period passes without a scan, and again each period', async () => {
    const clock = new ManualScheduler();
    const lib = countingLibrary();
    const w = watchLibrary(lib, { root: tmp.dir, pollMs: null, rescanEveryMs: 60_000, scheduler: clock, log: createLogger('silent') });
    await w.ready;
    assert.equal(lib.scans, 1, 'one scan once the watches are set');
    await clock.advance(59_000);
    assert.equal(lib.scans, 1, 'not before the period');
    await clock.advance(1000);
    assert.equal(lib.scans, 2);
    await clock.advance(60_000);
    assert.equal(lib.scans, 3);
    await w.close();
    await clock.advance(600_000);
    assert.equal(lib.scans, 3, 'none after close');
  });

  it('is off with --rescan-every off', async () => {
    const clock = new ManualScheduler();
    const lib = countingLibrary();
    const w = watchLibrary(lib, { root: tmp.dir, pollMs: null, rescanEveryMs: null, scheduler: clock, log: createLogger('silent') });
    await w.ready;
    await clock.advance(7 * 86_400_000);
    assert.equal(lib.scans, 1);
    await w.close();
  });
});

describe('the library itself', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let n = 0;
  /** A fresh library over a fresh folder and database. */
  async function fresh(files: string[]): Promise<{ root: string; library: Library; close: () => void }> {
    const root = path.join(tmp.dir, `lib-${++n}`);
    await mkdir(root);
    for (const f of files) await copyFile(HEADS_UP, path.join(root, f));
    const db = openDatabase(path.join(tmp.dir, `db-${n}.db`));
    return { root, library: createLibrary(root, new ContentStore(db)), close: () => db.close() };
  }
  const ids = (l: Library): Map<string, string> => new Map(l.list().map((c) => [c.relPath, c.id]));
  before(async () => (tmp = await tempDir()));
  after(() => tmp.cleanup());

  it('a scan asked for during a running one starts after it, sees what changed meanwhile, and is shared', async () => {
    const { root, library, close } = await fresh(['a.mp4']);
    try {
      const first = library.scan();
      await copyFile(HEADS_UP, path.join(root, 'b.mp4'));
      const second = library.scan();
      const third = library.scan();
      assert.notEqual(second, first);
      assert.equal(third, second, 'callers waiting for the next scan share it');
      await first;
      await second;
      assert.deepEqual([...ids(library).keys()].sort(), ['a.mp4', 'b.mp4']);
    } finally {
      close();
    }
  });

  it('a move whose halves land in different scans keeps the id', async () => {
    const { root, library, close } = await fresh(['a.mp4', 'b.mp4']);
    try {
      await library.scan();
      const id = ids(library).get('a.mp4');
      const outside = path.join(tmp.dir, `moved-out-${n}.mp4`);
      await rename(path.join(root, 'a.mp4'), outside);
      assert.equal((await library.scan()).removed, 1);
      await mkdir(path.join(root, 'later'));
      await rename(outside, path.join(root, 'later', 'a.mp4'));
      const report = await library.scan();
      assert.equal(report.added, 1);
      assert.equal(ids(library).get('later/a.mp4'), id);
    } finally {
      close();
    }
  });

  it('an empty root over a catalogue is unreachable (EEMPTY): rows kept, listeners told, then recovered', async () => {
    const { root, library, close } = await fresh(['a.mp4', 'b.mp4']);
    const seen: Reachability[] = [];
    library.onReachabilityChange((r) => seen.push(r));
    const scanned: ScanReport[] = [];
    const stop = library.onScanned((r) => scanned.push(r));
    try {
      await library.scan();
      const before = ids(library);
      const aside = path.join(tmp.dir, `aside-${n}`);
      await mkdir(aside);
      for (const f of await readdir(root)) await rename(path.join(root, f), path.join(aside, f));
      await writeFile(path.join(root, '.DS_Store'), ''); // hidden entries do not make a root non-empty
      const report = await library.scan();
      assert.equal(report.rootError, 'EEMPTY');
      assert.equal(report.removed, 0);
      assert.deepEqual(scanned.map((r) => r.added), [2], 'scan listeners hear of scans that read the root, not of this one');
      stop();
      assert.deepEqual(ids(library), before);
      assert.equal(library.reachability().reachable, false);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.rootError, 'EEMPTY');
      for (const f of await readdir(aside)) await rename(path.join(aside, f), path.join(root, f));
      assert.equal((await library.scan()).rootError, null);
      assert.deepEqual(ids(library), before);
      assert.deepEqual(seen.map((r) => r.reachable), [false, true]);
      assert.ok(Date.parse(seen[1]!.since) >= Date.parse(seen[0]!.since));
    } finally {
      close();
    }
  });

  it('an empty root with an empty catalogue is simply an empty library', async () => {
    const { library, close } = await fresh([]);
    try {
      assert.equal((await library.scan()).rootError, null);
      assert.equal(library.reachability().reachable, true);
    } finally {
      close();
    }
  });

  it('a root that cannot be resolved when a file is asked for marks the library unreachable', async () => {
    const { root, library, close } = await fresh(['a.mp4']);
    try {
      await library.scan();
      const id = ids(library).get('a.mp4')!;
      await rename(root, `${root}-gone`);
      assert.equal((await library.getFilePath(id)).root, null);
      assert.deepEqual({ ...library.reachability(), since: null }, { reachable: false, since: null, rootError: 'ENOENT' });
      await rename(`${root}-gone`, root);
      await library.scan();
      assert.equal(library.reachability().reachable, true);
    } finally {
      close();
    }
  });

  it('close aborts a running scan, which writes nothing, and refuses new scans', async () => {
    const { library, close } = await fresh(['a.mp4', 'b.mp4', 'c.mp4']);
    try {
      const scan = library.scan();
      await library.close();
      await assert.rejects(scan, { name: 'AbortError' });
      assert.equal(library.counts().total, 0);
      await assert.rejects(library.scan(), /closed/);
    } finally {
      close();
    }
  });
});

describe('the settings --watch-poll and --rescan-every', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  let base: string[];
  before(async () => {
    tmp = await tempDir();
    await mkdir(path.join(tmp.dir, 'lib'));
    base = ['--library', path.join(tmp.dir, 'lib'), '--data', path.join(tmp.dir, 'data')];
  });
  after(() => tmp.cleanup());

  it('default to native events and a rescan every 15 minutes', () => {
    const c = loadConfig(base, {});
    assert.equal(c.watchPollSeconds, null);
    assert.equal(c.rescanEverySeconds, 900);
  });

  it('accept off/on/an interval for polling, and 0/off/a duration for the rescan, from flags and environment', () => {
    assert.equal(loadConfig([...base, '--watch-poll', 'on'], {}).watchPollSeconds, 2);
    assert.equal(loadConfig([...base, '--watch-poll', '5s'], {}).watchPollSeconds, 5);
    assert.equal(loadConfig(base, { WSOPTV_WATCH_POLL: '2m' }).watchPollSeconds, 120);
    assert.equal(loadConfig(base, { WSOPTV_WATCH_POLL: 'OFF' }).watchPollSeconds, null);
    assert.equal(loadConfig([...base, '--rescan-every', '0'], {}).rescanEverySeconds, null);
    assert.equal(loadConfig([...base, '--rescan-every=off'], {}).rescanEverySeconds, null);
    assert.equal(loadConfig(base, { WSOPTV_RESCAN_EVERY: '1h' }).rescanEverySeconds, 3600);
    assert.equal(loadConfig([...base, '--rescan-every', '30s'], { WSOPTV_RESCAN_EVERY: 'bad' }).rescanEverySeconds, 30, 'the flag wins');
  });

  for (const [args, env, setting, problem] of [
    [['--watch-poll', 'sometimes'], {}, '--watch-poll', /not a duration/],
    [['--watch-poll', '0.5s'], {}, '--watch-poll', /not a duration/],
    [['--watch-poll', '2h'], {}, '--watch-poll', /outside 1s-600s/],
    [[], { WSOPTV_WATCH_POLL: 'fast' }, 'WSOPTV_WATCH_POLL', /fast/],
    [['--rescan-every', '5s'], {}, '--rescan-every', /outside 10s/],
    [['--rescan-every', 'hourly'], {}, '--rescan-every', /not a duration/],
    [[], { WSOPTV_RESCAN_EVERY: '30d' }, 'WSOPTV_RESCAN_EVERY', /outside/],
  ] as const) {
    it(`refuse ${args.join(' ') || JSON.stringify(env)} naming ${setting}`, () => {
      assert.throws(
        () => loadConfig([...base, ...args], env),
        (err: unknown) => err instanceof ConfigError && err.setting === setting && problem.test(err.message) && !err.message.includes('\n'),
      );
    });
  }

  it('are listed by --help', () => {
    assert.match(usage(), /--watch-poll <value>\s+WSOPTV_WATCH_POLL/);
    assert.match(usage(), /--rescan-every <value>\s+WSOPTV_RESCAN_EVERY/);
  });

  for (const [flag, value] of [
    ['--watch-poll', 'maybe'],
    ['--rescan-every', '1s'],
  ] as const) {
    it(`the real CLI given ${flag} ${value} exits 2 with one line naming it`, async () => {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WSOPTV_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
      const child = spawn(process.execPath, ['--import', 'tsx', 'app/cmd/serve.ts', ...base, flag, value], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 2, stderr);
      assert.equal(stderr.trimEnd().split('\n').length, 1, stderr);
      assert.ok(stderr.includes(flag), stderr);
    });
  }
});
