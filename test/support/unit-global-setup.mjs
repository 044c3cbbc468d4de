import { ensureRedis } from '../../scripts/test-prerequisites.mjs';

/** Before the unit specs: the Redis record repository's spec runs against the real Redis on 127.0.0.1:6379. */
export default async function unitGlobalSetup() {
  await ensureRedis();
}
