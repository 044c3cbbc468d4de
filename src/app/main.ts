import 'reflect-metadata';
import { run, startService } from './bootstrap.js';

await run(startService);
