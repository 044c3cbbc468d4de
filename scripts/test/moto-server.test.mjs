// Tests of test/support/moto-server.mjs (the moto S3 server of the e2e global setup and of the S3
// bench): it stops when asked, and it never outlives the process that started it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startMotoServer } from '../../test/support/moto-server.mjs';
import { until } from '../../bench/lib/until.mjs';

const MOTO_SERVER = fileURLToPath(new URL('../../test/support/moto-server.mjs', import.meta.url));

/** Whether anything answers HTTP at `endpoint` now (a connection cut mid-answer, by a moto going away, is no). */
async function answers(endpoint) {
  try {
    const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/** Waits, bounded, until `endpoint` no longer answers; false if it still does after `ms`. */
const goneWithin = (endpoint, ms) =>
  until(`${endpoint} to stop answering`, async () => ((await answers(endpoint)) ? undefined : true), ms).catch(() => false);

/** A node process that starts moto, prints its endpoint, then ends as `how` says, without stopping it. */
function ownerThatDies(how) {
  const script = `const m = await import(${JSON.stringify(MOTO_SERVER)});
    const s = await m.startMotoServer();
    console.log(s.endpoint);
    ${how === 'exit' ? 'process.exit(1);' : 'setInterval(() => {}, 1000);'}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', () => reject(new Error(`the owner exited before moto answered: ${out}`)));
  });
  return { child, endpoint };
}

// Without moto_server installed, startMotoServer throws the one-line message the e2e setup gives.
describe('startMotoServer', () => {
  it('answers until stop(), then is gone', async () => {
    const moto = await startMotoServer();
    assert.equal(await answers(moto.endpoint), true);
    await moto.stop();
    assert.equal(await answers(moto.endpoint), false);
  });

  it('dies with a process that exits without stopping it (a test calling process.exit)', async () => {
    const owner = ownerThatDies('exit');
    const endpoint = await owner.endpoint;
    assert.equal(await goneWithin(endpoint, 10_000), true, `moto still answers at ${endpoint}`);
  });

  it('dies with a process that is killed (SIGKILL)', async () => {
    const owner = ownerThatDies('hang');
    const endpoint = await owner.endpoint;
    assert.equal(await answers(endpoint), true);
    owner.child.kill('SIGKILL');
    assert.equal(await goneWithin(endpoint, 10_000), true, `moto still answers at ${endpoint}`);
  });
});
