/**
 * The Electron shell (main/shell.ts) against a fake of the Electron API, booting the REAL server core on a
 * temp library and data folder. Only Electron is faked: its binary cannot be downloaded or run here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT, type Config } from '../app/config/config.ts';
import { startServer, type RunningServer } from '../app/compose.ts';
import {
  runShell,
  serverFlags,
  type ElectronLike,
  type MenuItemOptions,
  type MessageBoxOptions,
  type Shell,
  type WindowOptions,
} from '../main/shell.ts';
import { tempDir } from './helpers/fixtures.ts';
import { rawRequest } from './helpers/server.ts';

const SAMPLE = path.join(PROJECT_ROOT, 'samples', 'wsop-sample-heads-up.mp4');
const ADMIN_PASSWORD = 'shell-test-admin-password';

/** An Electron event a listener may cancel. */
class FakeEvent {
  defaultPrevented = false;
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

/** A navigation event, as `will-navigate` hands it over. */
class FakeNavigation extends FakeEvent {
  constructor(readonly url: string) {
    super();
  }
}

/** Stands in for Electron's `app`, with the quit sequence Electron runs: before-quit, then quit unless prevented. */
class FakeApp extends EventEmitter {
  isPackaged = false;
  userData = '';
  hasLock = true;
  /** Every before-quit event emitted, in order. */
  readonly beforeQuits: FakeEvent[] = [];
  quitted = false;
  exitCode: number | undefined;
  /** Settles when the app really ends: 'quit', or the exit code. */
  readonly ended: Promise<'quit' | number>;
  private end!: (how: 'quit' | number) => void;

  constructor() {
    super();
    this.ended = new Promise((resolve) => (this.end = resolve));
  }
  getPath(name: string): string {
    assert.equal(name, 'userData');
    return this.userData;
  }
  requestSingleInstanceLock(): boolean {
    return this.hasLock;
  }
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  quit(): void {
    const event = new FakeEvent();
    this.beforeQuits.push(event);
    this.emit('before-quit', event);
    if (!event.defaultPrevented) {
      this.quitted = true;
      this.end('quit');
    }
  }
  exit(code = 0): void {
    this.exitCode = code;
    this.end(code);
  }
}

/** Stands in for a window's webContents: records the handlers the shell installs and replays navigations. */
class FakeWebContents extends EventEmitter {
  openHandler: ((details: { url: string }) => { action: string }) | undefined;
  permissionHandler: ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void) | undefined;
  readonly session = {
    setPermissionRequestHandler: (handler: NonNullable<FakeWebContents['permissionHandler']>): void => {
      this.permissionHandler = handler;
    },
  };
  setWindowOpenHandler(handler: NonNullable<FakeWebContents['openHandler']>): void {
    this.openHandler = handler;
  }
  /** What `window.open(url)` in the page would get. */
  windowOpen(url: string): string {
    assert.ok(this.openHandler, 'no window-open handler installed');
    return this.openHandler({ url }).action;
  }
  /** Emits will-navigate; true when the shell let it happen. */
  navigate(url: string): boolean {
    const event = new FakeNavigation(url);
    this.emit('will-navigate', event);
    return !event.defaultPrevented;
  }
}

/** Stands in for a BrowserWindow. */
class FakeWindow extends EventEmitter {
  readonly webContents = new FakeWebContents();
  readonly loaded: string[] = [];
  minimized = false;
  destroyed = false;
  restored = 0;
  shown = 0;
  focused = 0;
  constructor(readonly options: WindowOptions) {
    super();
  }
  loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    return Promise.resolve();
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  restore(): void {
    this.minimized = false;
    this.restored++;
  }
  show(): void {
    this.shown++;
  }
  focus(): void {
    this.focused++;
  }
  /** The user closes the window. */
  close(): void {
    this.destroyed = true;
    this.emit('closed');
  }
}

/** A nativeImage. */
class FakeImage {
  constructor(readonly file: string, readonly size?: { width: number; height: number }) {}
  resize(size: { width: number; height: number }): FakeImage {
    return new FakeImage(this.file, size);
  }
}

/** Stands in for a Tray. */
class FakeTray extends EventEmitter {
  toolTip = '';
  menu: { items: MenuItemOptions[] } | null = null;
  destroyed = false;
  constructor(readonly image: FakeImage) {
    super();
  }
  setToolTip(toolTip: string): void {
    this.toolTip = toolTip;
  }
  setContextMenu(menu: object | null): void {
    this.menu = menu as { items: MenuItemOptions[] } | null;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** Clicks the menu entry with this label. */
  choose(label: string): void {
    const item = this.menu?.items.find((i) => i.label === label);
    assert.ok(item?.click, `no menu entry "${label}"`);
    item.click();
  }
}

/**
 * FakeElectron stands in for the `electron` module, whose binary cannot be downloaded or run on this
 * machine. It implements the slice main/shell.ts uses and records what the shell did with it.
 */
class FakeElectron implements ElectronLike<FakeImage> {
  readonly app = new FakeApp();
  readonly windows: FakeWindow[] = [];
  readonly trays: FakeTray[] = [];
  readonly errorBoxes: { title: string; content: string }[] = [];
  readonly messageBoxes: MessageBoxOptions[] = [];
  readonly external: string[] = [];

  readonly BrowserWindow = ((windows) =>
    class extends FakeWindow {
      constructor(options: WindowOptions) {
        super(options);
        windows.push(this);
      }
    })(this.windows);
  readonly Tray = ((trays) =>
    class extends FakeTray {
      constructor(image: FakeImage) {
        super(image);
        trays.push(this);
      }
    })(this.trays);
  readonly Menu = { buildFromTemplate: (items: MenuItemOptions[]): object => ({ items }) };
  readonly nativeImage = { createFromPath: (file: string): FakeImage => new FakeImage(file) };
  readonly dialog = {
    showErrorBox: (title: string, content: string): void => {
      this.errorBoxes.push({ title, content });
    },
    showMessageBox: (options: MessageBoxOptions): Promise<unknown> => {
      this.messageBoxes.push(options);
      return Promise.resolve({ response: 0 });
    },
  };
  readonly shell = {
    openExternal: (url: string): Promise<void> => {
      this.external.push(url);
      return Promise.resolve();
    },
  };

  /** The one window the shell opened. */
  get window(): FakeWindow {
    assert.equal(this.windows.length >= 1, true, 'no window was opened');
    return this.windows.at(-1)!;
  }
}

/** Records every start of the real server core. */
function countingStart(): { start: (config: Config) => Promise<RunningServer>; configs: Config[] } {
  const configs: Config[] = [];
  return {
    configs,
    start: (config) => {
      configs.push(config);
      return startServer(config);
    },
  };
}

/** A temp library holding one sample clip, and a temp data folder. */
async function folders(): Promise<{ libraryDir: string; dataDir: string; root: string; cleanup: () => Promise<void> }> {
  const tmp = await tempDir('wsoptv-shell-');
  const libraryDir = path.join(tmp.dir, 'library');
  const dataDir = path.join(tmp.dir, 'data');
  await mkdir(libraryDir);
  await copyFile(SAMPLE, path.join(libraryDir, 'heads-up.mp4'));
  return { libraryDir, dataDir, root: tmp.dir, cleanup: tmp.cleanup };
}

/** The command line Electron would see for `npm run app -- <flags>`. */
const argvWith = (flags: readonly string[]): string[] => ['/opt/electron/electron', 'main/dist/main.js', '--', ...flags];

const serverArgs = (dirs: { libraryDir: string; dataDir: string }): string[] => [
  '--library',
  dirs.libraryDir,
  '--data',
  dirs.dataDir,
  '--port',
  '0',
  '--host',
  '127.0.0.1',
  '--log-level',
  'silent',
];

/** Quits through the fake app and waits for the real end. */
async function quit(fake: FakeElectron): Promise<void> {
  fake.app.quit();
  assert.equal(await fake.app.ended, 'quit');
}

/** The one-time sign-in URL a window loads: 256 bits of base64url. */
const signInPattern = (base: string): RegExp => new RegExp(`^${base.replace(/[.]/g, '\\.')}/api/auth/local\\?code=[A-Za-z0-9_-]{43}$`);

const quietStderr = { lines: [] as string[], write(text: string) { this.lines.push(text); } };

describe('when the shell starts on a good configuration', { timeout: 30_000 }, () => {
  const fake = new FakeElectron();
  const starts = countingStart();
  let dirs: Awaited<ReturnType<typeof folders>>;
  let shell: Shell;
  let base: string;

  before(async () => {
    dirs = await folders();
    const result = await runShell({
      electron: fake,
      argv: argvWith(serverArgs(dirs)),
      env: { WSOPTV_ADMIN_PASSWORD: ADMIN_PASSWORD },
      startServer: starts.start,
      stderr: quietStderr,
    });
    assert.ok(result, 'the shell quit instead of starting');
    shell = result;
    base = `http://127.0.0.1:${shell.server.port}`;
  });
  after(async () => {
    await shell?.server.close(0);
    await dirs?.cleanup();
  });

  it('boots the core once with the flags after --', () => {
    assert.equal(starts.configs.length, 1);
    assert.equal(starts.configs[0]?.libraryRoot, dirs.libraryDir);
    assert.equal(starts.configs[0]?.dataDir, dirs.dataDir);
    assert.equal(starts.configs[0]?.logLevel, 'silent');
  });

  it('opens one window with context isolation and sandbox on and Node integration off', () => {
    assert.equal(fake.windows.length, 1);
    const prefs = fake.window.options.webPreferences;
    assert.equal(prefs.contextIsolation, true);
    assert.equal(prefs.sandbox, true);
    assert.equal(prefs.nodeIntegration, false);
  });

  it('loads the console from the real server over loopback, and that port answers /api/health with 200', async () => {
    assert.notEqual(shell.server.port, 0);
    assert.equal(fake.window.loaded.length, 1);
    assert.match(fake.window.loaded[0]!, signInPattern(base));
    assert.equal(shell.consoleUrl, `${base}/console/`);
    const health = await rawRequest(`${base}/api/health`);
    assert.equal(health.status, 200);
    assert.equal(health.json().status, 'ok');
  });

  it('the window signs in as admin with a one-time code and lands on the console page, not a 404', async () => {
    // What the window does with the URL it was given: follow the redirect with the cookie it sets.
    const signIn = await rawRequest(fake.window.loaded[0]!);
    assert.equal(signIn.status, 302);
    assert.equal(signIn.headers.location, '/console/');
    const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
    assert.match(cookie, /^wsoptv_token=.+/);
    const page = await rawRequest(`${base}/console/`, { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body.toString(), /<title>WSOPTV console<\/title>/);
    const me = await rawRequest(`${base}/api/auth/me`, { headers: { cookie } });
    assert.equal(me.json().user.username, 'admin');
    assert.equal(me.json().user.role, 'admin');
    // The code is spent: the same URL again is refused.
    const again = await rawRequest(fake.window.loaded[0]!);
    assert.equal(again.status, 401);
    assert.equal(again.json().error.code, 'AUTH_INVALID_TOKEN');
  });

  it('the tray shows how many streams are playing', async () => {
    const tray = fake.trays[0]!;
    assert.match(tray.toolTip, /: 0 active streams$/);
    const login = await rawRequest(`${base}/api/auth/login`, { method: 'POST', body: { username: 'admin', password: ADMIN_PASSWORD } });
    const auth = { authorization: `Bearer ${login.json().token}` };
    const id = shell.server.library.list()[0]!.id;
    const started = await rawRequest(`${base}/api/stream/${id}/start`, { method: 'POST', headers: auth });
    assert.equal(started.status, 201);
    assert.match(tray.toolTip, /: 1 active stream$/);
    const ended = await rawRequest(`${base}/api/stream/${id}/end`, { method: 'POST', headers: auth, body: { session_id: started.json().session_id } });
    assert.equal(ended.status, 200);
    assert.match(tray.toolTip, /: 0 active streams$/);
  });

  it('puts a tray icon with "Open console" and "Quit"', () => {
    assert.equal(fake.trays.length, 1);
    const labels = fake.trays[0]!.menu?.items.map((i) => i.label).filter((l) => l !== undefined);
    assert.deepEqual(labels, ['Open console', 'Quit']);
    assert.ok(fake.trays[0]!.image.file.endsWith(path.join('build', 'icon.png')));
  });

  it('shows no password dialog when WSOPTV_ADMIN_PASSWORD was given', () => {
    assert.deepEqual(fake.messageBoxes, []);
    assert.deepEqual(fake.errorBoxes, []);
  });

  it('denies every window.open, sending only outside web pages to the browser', () => {
    const contents = fake.window.webContents;
    assert.equal(contents.windowOpen('https://www.wsop.com/'), 'deny');
    assert.equal(contents.windowOpen(`${base}/console/other`), 'deny');
    assert.equal(contents.windowOpen('file:///etc/passwd'), 'deny');
    assert.deepEqual(fake.external, ['https://www.wsop.com/']);
    assert.equal(fake.windows.length, 1);
  });

  it('keeps navigation on the console origin and opens other pages outside', () => {
    fake.external.length = 0;
    const contents = fake.window.webContents;
    assert.equal(contents.navigate(`${base}/console/#/streams`), true);
    assert.equal(contents.navigate('http://192.0.2.7:8000/console/'), false);
    assert.equal(contents.navigate('javascript:alert(1)'), false);
    assert.deepEqual(fake.external, ['http://192.0.2.7:8000/console/']);
  });

  it('refuses permission requests (camera, notifications...)', () => {
    let granted: boolean | undefined;
    fake.window.webContents.permissionHandler?.(fake.window.webContents, 'media', (g) => (granted = g));
    assert.equal(granted, false);
  });

  it('a second launch restores, shows and focuses the existing window', () => {
    const win = fake.window;
    win.minimized = true;
    fake.app.emit('second-instance', new FakeEvent(), ['electron', '.'], '/');
    assert.equal(fake.windows.length, 1);
    assert.equal(win.restored, 1);
    assert.ok(win.shown >= 1);
    assert.ok(win.focused >= 1);
  });

  it('closing the window keeps the server up; "Open console" opens a new one', async () => {
    fake.window.close();
    fake.app.emit('window-all-closed');
    assert.equal(fake.app.beforeQuits.length, 0);
    assert.equal((await rawRequest(`${base}/api/health`)).status, 200);
    fake.trays[0]!.choose('Open console');
    assert.equal(fake.windows.length, 2);
    assert.equal(fake.window.loaded.length, 1);
    assert.match(fake.window.loaded[0]!, signInPattern(base));
    assert.ok(fake.window.webContents.openHandler, 'the new window is guarded too');
  });

  it('"Quit" holds the first quit until the server has closed, then quits', async () => {
    fake.trays[0]!.choose('Quit');
    assert.equal(await fake.app.ended, 'quit');
    assert.equal(fake.app.beforeQuits.length, 2);
    assert.equal(fake.app.beforeQuits[0]!.defaultPrevented, true);
    assert.equal(fake.app.beforeQuits[1]!.defaultPrevented, false);
    assert.equal(fake.trays[0]!.destroyed, true);
    await assert.rejects(rawRequest(`${base}/api/health`), { code: 'ECONNREFUSED' });
  });
});

describe('when another copy already holds the single-instance lock', { timeout: 30_000 }, () => {
  it('quits without starting a server or opening a window', async () => {
    const fake = new FakeElectron();
    fake.app.hasLock = false;
    const starts = countingStart();
    const result = await runShell({ electron: fake, argv: argvWith(['--port', '0']), env: {}, startServer: starts.start, stderr: quietStderr });
    assert.equal(result, undefined);
    assert.equal(await fake.app.ended, 'quit');
    assert.equal(starts.configs.length, 0);
    assert.equal(fake.windows.length, 0);
  });
});

describe('when a setting is wrong', { timeout: 30_000 }, () => {
  it('a missing library folder shows an error box naming --library and exits with code 2', async () => {
    const fake = new FakeElectron();
    const starts = countingStart();
    const dirs = await folders();
    const stderr = { lines: [] as string[], write(t: string) { this.lines.push(t); } };
    try {
      const missing = path.join(dirs.root, 'no-such-library');
      const result = await runShell({
        electron: fake,
        argv: argvWith([...serverArgs(dirs), '--library', missing]),
        env: { WSOPTV_ADMIN_PASSWORD: ADMIN_PASSWORD },
        startServer: starts.start,
        stderr,
      });
      assert.equal(result, undefined);
      assert.equal(await fake.app.ended, 2);
      assert.equal(fake.errorBoxes.length, 1);
      const { content } = fake.errorBoxes[0]!;
      assert.match(content, /^--library: folder .*no-such-library does not exist$/);
      assert.doesNotMatch(content, /\n/);
      assert.deepEqual(stderr.lines, [`wsoptv: ${content}\n`]);
      assert.equal(starts.configs.length, 0);
      assert.equal(fake.windows.length, 0);
    } finally {
      await dirs.cleanup();
    }
  });

  it('a bad environment value is named by its variable', async () => {
    const fake = new FakeElectron();
    const dirs = await folders();
    try {
      await runShell({
        electron: fake,
        argv: argvWith(['--library', dirs.libraryDir, '--data', dirs.dataDir]),
        env: { WSOPTV_PORT: 'eighty', WSOPTV_ADMIN_PASSWORD: ADMIN_PASSWORD },
        stderr: quietStderr,
      });
      assert.equal(await fake.app.ended, 2);
      assert.match(fake.errorBoxes[0]?.content ?? '', /^WSOPTV_PORT: "eighty" is not a whole number$/);
    } finally {
      await dirs.cleanup();
    }
  });
});

describe('when the server cannot start', { timeout: 30_000 }, () => {
  it('a port already in use is a setting: the box names --port and the exit code is 2', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const fake = new FakeElectron();
    const dirs = await folders();
    try {
      const result = await runShell({
        electron: fake,
        argv: argvWith([...serverArgs(dirs), '--port', String(port)]),
        env: { WSOPTV_ADMIN_PASSWORD: ADMIN_PASSWORD },
        stderr: quietStderr,
      });
      assert.equal(result, undefined);
      assert.equal(await fake.app.ended, 2);
      assert.equal(fake.errorBoxes[0]?.content, `--port: port ${port} is already in use on 127.0.0.1`);
      assert.equal(fake.windows.length, 0);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
      await dirs.cleanup();
    }
  });

  it('any other failure shows "cannot start: ..." and exits with code 1', async () => {
    const fake = new FakeElectron();
    const dirs = await folders();
    try {
      const result = await runShell({
        electron: fake,
        argv: argvWith(serverArgs(dirs)),
        env: { WSOPTV_ADMIN_PASSWORD: ADMIN_PASSWORD },
        startServer: () => Promise.reject(new Error('database disk image is malformed')),
        stderr: quietStderr,
      });
      assert.equal(result, undefined);
      assert.equal(await fake.app.ended, 1);
      assert.equal(fake.errorBoxes[0]?.content, 'cannot start: database disk image is malformed');
      assert.equal(fake.windows.length, 0);
    } finally {
      await dirs.cleanup();
    }
  });
});

describe('when the first run generates the admin password', { timeout: 30_000 }, () => {
  it('shows it once in a dialog, and not on the next run', async () => {
    const dirs = await folders();
    try {
      const first = new FakeElectron();
      const shell = await runShell({ electron: first, argv: argvWith(serverArgs(dirs)), env: {}, stderr: quietStderr });
      assert.ok(shell?.server.generatedAdminPassword);
      assert.equal(first.messageBoxes.length, 1);
      assert.match(first.messageBoxes[0]!.detail, new RegExp(`password: ${shell.server.generatedAdminPassword}$`, 'm'));
      await quit(first);

      const second = new FakeElectron();
      const again = await runShell({ electron: second, argv: argvWith(serverArgs(dirs)), env: {}, stderr: quietStderr });
      assert.ok(again);
      assert.equal(again.server.generatedAdminPassword, undefined);
      assert.deepEqual(second.messageBoxes, []);
      await quit(second);
    } finally {
      await dirs.cleanup();
    }
  });
});

describe('when the app is installed (packaged) and no data folder is given', { timeout: 30_000 }, () => {
  it("keeps its data in the user's app-data folder instead of ./data", async () => {
    const dirs = await folders();
    try {
      const fake = new FakeElectron();
      fake.app.isPackaged = true;
      fake.app.userData = path.join(dirs.root, 'user-data');
      const flags = ['--library', dirs.libraryDir, '--port', '0', '--host', '127.0.0.1', '--log-level', 'silent'];
      const shell = await runShell({ electron: fake, argv: argvWith(flags), env: { WSOPTV_ADMIN_PASSWORD: ADMIN_PASSWORD }, stderr: quietStderr });
      assert.ok(shell);
      assert.ok((await stat(path.join(fake.app.userData, 'data', 'wsoptv.db'))).isFile());
      await quit(fake);
    } finally {
      await dirs.cleanup();
    }
  });
});

describe('when a quit comes while the server is still starting', { timeout: 30_000 }, () => {
  it('lets the start finish, closes the server, quits, and opens no window', async () => {
    const dirs = await folders();
    try {
      const fake = new FakeElectron();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started: RunningServer | undefined;
      const slowStart = async (config: Config): Promise<RunningServer> => {
        await gate;
        started = await startServer(config);
        return started;
      };
      const running = runShell({
        electron: fake,
        argv: argvWith(serverArgs(dirs)),
        env: { WSOPTV_ADMIN_PASSWORD: ADMIN_PASSWORD },
        startServer: slowStart,
        stderr: quietStderr,
      });
      // runShell registered its app handlers before its first await, so the quit reaches them now.
      fake.app.quit();
      assert.equal(fake.app.beforeQuits[0]?.defaultPrevented, true);
      release();
      assert.equal(await running, undefined);
      assert.equal(await fake.app.ended, 'quit');
      assert.ok(started);
      await assert.rejects(rawRequest(`http://127.0.0.1:${started.port}/api/health`), { code: 'ECONNREFUSED' });
      assert.equal(fake.windows.length, 0);
    } finally {
      await dirs.cleanup();
    }
  });
});

describe('which command-line arguments are the server flags', { timeout: 30_000 }, () => {
  it('takes only what follows --, leaving Electron and Chromium switches alone', () => {
    assert.deepEqual(serverFlags(['electron', 'main.js', '--no-sandbox', '--', '--port', '9000']), ['--port', '9000']);
    assert.deepEqual(serverFlags(['/opt/WSOPTV/wsoptv', '--enable-logging']), []);
  });
});
