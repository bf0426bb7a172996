/**
 * The Electron entry point (bundled to main/dist/main.js by scripts/app.sh): hands the real Electron module
 * to the shell. The only file that imports `electron`; everything else is testable under plain Node.
 */
import '../app/cmd/threadpool.ts';
import { app, BrowserWindow, dialog, Menu, nativeImage, shell, Tray } from 'electron';
import { runShell, type ElectronLike } from './shell.ts';

// Stack traces point into main/*.ts and app/*.ts through the bundle's source map.
process.setSourceMapsEnabled(true);

// Typed against the shell's interface, so a change in Electron's API shows up here at compile time.
const electron: ElectronLike<Electron.NativeImage> = { app, BrowserWindow, dialog, Menu, nativeImage, shell, Tray };

// ESM loads asynchronously, so this may run after 'ready'; the shell only ever awaits app.whenReady().
runShell({ electron, argv: process.argv, env: process.env }).catch((err: unknown) => {
  process.stderr.write(`wsoptv: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  app.exit(1);
});
