import 'reflect-metadata';
import { describeRoutesOnDemand } from '../uploads/http/openapi-loading.js';

// A worker serves no routes: their descriptions never need Swagger.
describeRoutesOnDemand();
const { run, startWorker } = await import('./bootstrap.js');
await run(startWorker);
