/** A worker thread of the host simulation (bench/hosts-sim.ts): takes jobs, one seed at one host count, and answers each with its figures. */
import { parentPort } from 'node:worker_threads';
import { simulateHostCount, type Job } from './hosts-sim.ts';

parentPort!.on('message', (job: Job) => parentPort!.postMessage(simulateHostCount(job)));
