import 'reflect-metadata';
import { run, startWorker } from './bootstrap.js';

await run(startWorker);
