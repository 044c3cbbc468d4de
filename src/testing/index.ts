/**
 * `stowage/testing`: helpers for a host's test suites. Test code only; the main entry never
 * imports it.
 */
export { createTempStorageRoot, type TempStorageRoot } from './temp-storage-root.js';
export { InMemoryStorage } from './in-memory.storage.js';
export { InMemoryRecordRepository } from './in-memory-record.repository.js';
