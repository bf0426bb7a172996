/**
 * Connected operator consoles for `npm run bench -- console`, run as a child process of the bench so their
 * reads never delay the seeker's clock: each holds GET /api/admin/events open and reads every frame, as a
 * console page does.
 *
 * Protocol (IPC): parent sends {type:'start', plan}; child answers {type:'running'} once every console has
 * its snapshot; parent sends {type:'stop'}; child answers {type:'stats', stats} and exits.
 */
import { request } from 'node:http';

/** Where the consoles connect. */
export interface ConsolePlan {
  readonly host: string;
  readonly port: number;
  readonly consoles: number;
  readonly headers: Record<string, string>;
}

/** What the consoles read. */
export interface ConsoleStats {
  readonly events: number;
  readonly bytes: number;
  readonly errors: number;
  readonly firstError: string | null;
}

function main(): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('bench/consoles.ts runs as a child of bench/run.ts (it needs an IPC channel)');
  const totals = { events: 0, bytes: 0, errors: 0, firstError: null as string | null };
  const open: (() => void)[] = [];
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: { type: string; plan?: ConsolePlan }) => {
    if (msg.type === 'start' && msg.plan) {
      const plan = msg.plan;
      let ready = 0;
      for (let i = 0; i < plan.consoles; i++) {
        let snapshot = false;
        const req = request({ host: plan.host, port: plan.port, path: '/api/admin/events', headers: { accept: 'text/event-stream', ...plan.headers }, agent: false }, (res) => {
          if (res.statusCode !== 200) {
            totals.errors++;
            totals.firstError ??= `status ${res.statusCode}`;
          }
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            totals.bytes += chunk.length;
            totals.events += chunk.split('\nevent: ').length - 1 + (chunk.startsWith('event: ') ? 1 : 0);
            if (!snapshot && chunk.includes('event: snapshot')) {
              snapshot = true;
              if (++ready === plan.consoles) send({ type: 'running' });
            }
          });
          res.on('error', () => undefined);
        });
        req.on('error', (err) => {
          totals.errors++;
          totals.firstError ??= err.message;
        });
        req.end();
        open.push(() => req.destroy());
      }
    } else if (msg.type === 'stop') {
      for (const close of open) close();
      send({ type: 'stats', stats: { ...totals } }, () => process.exit(0));
    }
  });
}

main();
