import 'reflect-metadata';
import { describeRoutesOnDemand } from '../uploads/http/openapi-loading.js';

// Swagger is loaded when /docs is first opened, not at start-up; decided before the routes load.
describeRoutesOnDemand();
const { run, startService } = await import('./bootstrap.js');
await run(startService);
