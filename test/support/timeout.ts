import { jest } from '@jest/globals';

// Real processes, Redis and Chromium: give each e2e test room on a loaded 2-core machine. (A
// project's own `testTimeout` is ignored by jest-circus, which reads only the global one.)
jest.setTimeout(30_000);
