/**
 * The desktop shell: a thin Electron wrapper around the same server core `npm start` runs. It boots the core,
 * opens the operator console in a locked-down window, keeps a tray icon so the server outlives its window
 * (LAN viewers keep streaming), lets only one copy run, and closes the server before the app exits.
 *
 * It is written against the small slice of Electron it uses (the `*Like` interfaces below) and never
 * imports `electron` itself: `main.ts` hands it the real module, tests hand it a fake.
 */
import path from 'node:path';
import { startServer, type RunningServer } from '../app/compose.ts';
import { ConfigError, loadConfig, PROJECT_ROOT, SETTINGS, type Config } from '../app/config/config.ts';

/** The title of the app's windows and dialogs. */
export const PRODUCT_NAME = 'WSOPTV Stream Server';

/** The app icon; electron-builder ships it inside the app (see `files` in electron-builder.yml). */
export const ICON_PATH = path.join(PROJECT_ROOT, 'build', 'icon.png');

/** The security settings of every window: the console is a plain web page with no Node in it. */
export const WEB_PREFERENCES = { contextIsolation: true, sandbox: true, nodeIntegration: false } as const;

/** An event a listener may cancel (`before-quit`, `will-navigate`). */
export interface PreventableEvent {
  preventDefault(): void;
}

/** A navigation about to happen in a window. */
export interface NavigationEvent extends PreventableEvent {
  readonly url: string;
}

/** The part of Electron's `app` the shell uses. */
export interface AppLike {
  readonly isPackaged: boolean;
  getPath(name: 'userData'): string;
  requestSingleInstanceLock(): boolean;
  whenReady(): Promise<void>;
  quit(): void;
  exit(exitCode?: number): void;
  on(event: 'second-instance', listener: () => void): unknown;
  on(event: 'window-all-closed', listener: () => void): unknown;
  on(event: 'activate', listener: () => void): unknown;
  on(event: 'before-quit', listener: (event: PreventableEvent) => void): unknown;
}

/** The options the shell gives a new window. */
export interface WindowOptions {
  readonly title: string;
  readonly width: number;
  readonly height: number;
  readonly icon: string;
  readonly autoHideMenuBar: boolean;
  readonly webPreferences: typeof WEB_PREFERENCES;
}

/** The part of a window's `webContents` the shell uses. */
export interface WebContentsLike {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(event: 'will-navigate' | 'will-redirect', listener: (event: NavigationEvent) => void): unknown;
  readonly session: {
    setPermissionRequestHandler(handler: (webContents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  };
}

/** The part of `BrowserWindow` the shell uses. */
export interface WindowLike {
  readonly webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  show(): void;
  focus(): void;
  on(event: 'closed', listener: () => void): unknown;
}

/** An image, as `nativeImage` makes them; generic so the real NativeImage goes back into the real Tray. */
export interface ImageLike<Self> {
  resize(options: { width: number; height: number }): Self;
}

/** One entry of the tray menu. */
export interface MenuItemOptions {
  readonly label?: string;
  readonly type?: 'normal' | 'separator';
  readonly click?: () => void;
}

/** The part of `Tray` the shell uses. */
export interface TrayLike {
  setToolTip(toolTip: string): void;
  setContextMenu(menu: object | null): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

/** The options of an information dialog. */
export interface MessageBoxOptions {
  readonly type: 'info';
  readonly title: string;
  readonly message: string;
  readonly detail: string;
  readonly buttons: string[];
}

/** The slice of the `electron` module the shell uses. */
export interface ElectronLike<Image extends ImageLike<Image> = any> {
  readonly app: AppLike;
  readonly BrowserWindow: new (options: WindowOptions) => WindowLike;
  readonly Tray: new (image: Image) => TrayLike;
  readonly Menu: { buildFromTemplate(template: MenuItemOptions[]): object };
  readonly nativeImage: { createFromPath(path: string): Image };
  readonly dialog: {
    showErrorBox(title: string, content: string): void;
    showMessageBox(options: MessageBoxOptions): Promise<unknown>;
  };
  readonly shell: { openExternal(url: string): Promise<void> };
}

/** What the shell needs from its surroundings. */
export interface ShellDeps {
  readonly electron: ElectronLike;
  /** The process's whole argv; the server's flags are the ones after `--`. */
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Starts the server core (tests may wrap it). */
  readonly startServer?: (config: Config) => Promise<RunningServer>;
  /** Where a start-up failure is also written, for whoever launched the app from a terminal. */
  readonly stderr?: { write(text: string): unknown };
  readonly iconPath?: string;
}

/** A running shell. */
export interface Shell {
  readonly server: RunningServer;
  /** The admin console's address, always on the loopback side of the server. */
  readonly consoleUrl: string;
}

/**
 * The server's flags: what follows `--` on the command line (`npm run app -- --port 9000`). Everything before
 * it belongs to Electron and Chromium (`--no-sandbox`, `--inspect`...), whose switches loadConfig would refuse.
 */
export function serverFlags(argv: readonly string[]): string[] {
  const i = argv.indexOf('--');
  return i < 0 ? [] : argv.slice(i + 1);
}

/** Whether `url` may open in the operator's browser: only web pages, never file:, javascript: or app schemes. */
export function isWebUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The origin of `url`, or undefined when it is not a URL. */
function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * Runs the shell. Resolves with the running shell once its window is open, or with undefined when it quit
 * instead (another copy holds the lock, the configuration is wrong, the server could not start, or a quit
 * came first).
 */
export async function runShell(deps: ShellDeps): Promise<Shell | undefined> {
  const { electron, argv, env } = deps;
  const { app, dialog } = electron;
  const start = deps.startServer ?? startServer;
  const stderr = deps.stderr ?? process.stderr;
  const iconPath = deps.iconPath ?? ICON_PATH;

  // The first copy owns the port and the database; a second one only brings the first to the front.
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return undefined;
  }

  let server: RunningServer | undefined;
  let starting: Promise<RunningServer> | undefined;
  let window: WindowLike | undefined;
  let tray: TrayLike | undefined;
  // Set once the server is up and the app is ready; until then there is no console to show.
  let openConsole: (() => void) | undefined;
  let phase: 'running' | 'closing' | 'closed' = 'running';

  app.on('second-instance', () => {
    if (phase === 'running') openConsole?.();
  });
  // Closing the window must not stop the server: viewers on the LAN are still streaming. The tray's Quit ends it.
  app.on('window-all-closed', () => {});
  app.on('activate', () => {
    if (phase === 'running') openConsole?.();
  });
  // Electron would exit without waiting for promises: hold the first quit until the server has closed
  // (streams ended, database closed), then quit for real.
  app.on('before-quit', (event) => {
    if (phase === 'closed') return;
    event.preventDefault();
    if (phase === 'closing') return;
    phase = 'closing';
    tray?.destroy();
    void (async () => {
      try {
        const running = await starting;
        await running?.close();
      } catch (err) {
        server?.log.error({ action: 'shutdown_failed', err }, 'server did not close cleanly');
      }
      phase = 'closed';
      app.quit();
    })();
  });

  /** Shows the error in a dialog and exits: 2 for a bad setting (as `npm start` does), 1 otherwise. */
  const fail = async (err: unknown): Promise<undefined> => {
    const message = err instanceof ConfigError ? err.message : `cannot start: ${err instanceof Error ? err.message : String(err)}`;
    stderr.write(`wsoptv: ${message}\n`);
    // Before 'ready', Linux prints the error box to stderr instead of showing it.
    await app.whenReady();
    dialog.showErrorBox(PRODUCT_NAME, message);
    app.exit(err instanceof ConfigError ? 2 : 1);
    return undefined;
  };

  let config: Config;
  try {
    // An installed app starts in whatever folder the desktop chose, often one it cannot write: keep its
    // data with the user's app data instead of ./data. A flag or WSOPTV_DATA still wins.
    const envWithDefaults = app.isPackaged ? { [SETTINGS.data.env]: path.join(app.getPath('userData'), 'data'), ...env } : env;
    config = loadConfig(serverFlags(argv), envWithDefaults);
  } catch (err) {
    return fail(err);
  }

  try {
    starting = start(config);
    server = await starting;
  } catch (err) {
    if (phase !== 'running') return undefined;
    return fail(err);
  }
  await app.whenReady();
  // A quit during start-up: the before-quit handler is closing the server.
  if (phase !== 'running') return undefined;

  // The server listens on every interface for the LAN (0.0.0.0 by default); the window talks to it over
  // loopback, which `server.url` already names.
  const consoleUrl = `${server.url}/console/`;
  const running = server;
  const consoleOrigin = originOf(consoleUrl);

  /**
   * Where a new window starts: a one-time code, handed over on loopback, signs it in as the first active
   * admin and lands it on the console, so no password is typed. With no active admin, the console's own
   * login form.
   */
  const signInUrl = (): string => {
    const admin = running.auth.listUsers().find((u) => u.role === 'admin' && u.status === 'active');
    return admin ? `${running.url}/api/auth/local?code=${running.auth.createOneTimeLogin(admin.id)}` : consoleUrl;
  };

  /** The window shows the console and nothing else: other pages open in the operator's browser. */
  const guardNavigation = (contents: WebContentsLike): void => {
    const openOutside = (url: string): void => {
      if (isWebUrl(url)) electron.shell.openExternal(url).catch(() => {});
    };
    contents.setWindowOpenHandler(({ url }) => {
      if (originOf(url) !== consoleOrigin) openOutside(url);
      return { action: 'deny' };
    });
    const stayOnConsole = (event: NavigationEvent): void => {
      if (originOf(event.url) === consoleOrigin) return;
      event.preventDefault();
      openOutside(event.url);
    };
    contents.on('will-navigate', stayOnConsole);
    contents.on('will-redirect', stayOnConsole);
    // The console needs no camera, notifications or the like.
    contents.session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  };

  const showConsole = (): void => {
    if (window !== undefined && !window.isDestroyed()) {
      if (window.isMinimized()) window.restore();
      window.show();
      window.focus();
      return;
    }
    const win = new electron.BrowserWindow({
      title: PRODUCT_NAME,
      width: 1280,
      height: 800,
      icon: iconPath,
      autoHideMenuBar: true,
      webPreferences: WEB_PREFERENCES,
    });
    guardNavigation(win.webContents);
    win.on('closed', () => {
      if (window === win) window = undefined;
    });
    window = win;
    win.loadURL(signInUrl()).catch((err: unknown) => running.log.warn({ action: 'console_load_failed', err }, 'console page did not load'));
  };

  tray = new electron.Tray(electron.nativeImage.createFromPath(iconPath).resize({ width: 16, height: 16 }));
  // The tray says how many streams are playing, kept current by the stream events.
  const trayIcon = tray;
  const showCount = (): void => {
    if (phase !== 'running') return;
    const n = running.streams.activeSessions().length;
    trayIcon.setToolTip(`${PRODUCT_NAME} on port ${running.port}: ${n} active stream${n === 1 ? '' : 's'}`);
  };
  showCount();
  running.streams.bus.on('stream.started', showCount);
  running.streams.bus.on('stream.ended', showCount);
  tray.setContextMenu(
    electron.Menu.buildFromTemplate([
      { label: 'Open console', click: showConsole },
      { type: 'separator' },
      { label: 'Quit', click: () => app.quit() },
    ]),
  );
  tray.on('click', showConsole);

  openConsole = showConsole;
  showConsole();

  if (running.generatedAdminPassword !== undefined) {
    // The core hands the password out only on the run that created the account, and never stores it in clear.
    void dialog
      .showMessageBox({
        type: 'info',
        title: PRODUCT_NAME,
        message: 'First run: the admin account was created.',
        detail: [
          'Log in to the console with',
          '  username: admin',
          `  password: ${running.generatedAdminPassword}`,
          '',
          'Note it now: it is shown once and not stored in clear.',
        ].join('\n'),
        buttons: ['OK'],
      })
      .catch(() => {});
  }

  return { server: running, consoleUrl };
}
