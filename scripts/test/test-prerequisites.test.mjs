// Tests of scripts/test-prerequisites.mjs (what the jest global setups check before any test runs): `node --test scripts/test/`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  DEFAULT_CHROMIUM,
  MissingPrerequisite,
  ensureChromium,
  ensureFuse,
  ensureMotoServer,
  ensureRedis,
  ensureWrk,
} from '../test-prerequisites.mjs';

const SCRIPT = fileURLToPath(new URL('../test-prerequisites.mjs', import.meta.url));
const missing = (message) => (err) =>
  err instanceof MissingPrerequisite && message.test(err.message) && err.stack === err.message && !err.message.includes('\n');

/** A fake Chromium world: which paths are executable, what apt-get installs, what was said. */
function world({ present = [], installs = [], isRoot = false, installFails } = {}) {
  const paths = new Set(present);
  const said = [];
  let installed = 0;
  return {
    said,
    installed: () => installed,
    options: (path) => ({
      path,
      isRoot,
      executable: (p) => paths.has(p),
      say: (line) => said.push(line),
      install: () => {
        installed++;
        if (installFails) throw new Error(installFails);
        for (const p of installs) paths.add(p);
      },
    }),
  };
}

describe('ensureChromium', () => {
  it('is silent and installs nothing when the executable is there', () => {
    const w = world({ present: [DEFAULT_CHROMIUM], isRoot: true });
    ensureChromium(w.options(DEFAULT_CHROMIUM));
    assert.deepEqual(w.said, []);
    assert.equal(w.installed(), 0);
  });

  it("as root, installs Debian's chromium when it is missing, saying so in one line", () => {
    const w = world({ installs: [DEFAULT_CHROMIUM], isRoot: true });
    ensureChromium(w.options(DEFAULT_CHROMIUM));
    assert.equal(w.installed(), 1);
    assert.deepEqual(w.said, [
      `Chromium for the browser tests is missing at ${DEFAULT_CHROMIUM}: installing Debian's chromium package (apt-get install chromium)...`,
    ]);
  });

  it('not as root, stops with one line saying what to install, and installs nothing', () => {
    const w = world();
    assert.throws(
      () => ensureChromium(w.options(DEFAULT_CHROMIUM)),
      missing(
        /^Chromium for the browser tests is missing at \/usr\/bin\/chromium: install Debian's chromium package as root \(`sudo apt-get install chromium`\), then run npm test again$/,
      ),
    );
    assert.equal(w.installed(), 0);
  });

  it('names CHROMIUM_PATH when that is what is missing', () => {
    assert.throws(
      () => ensureChromium(world().options('/opt/nowhere/chrome')),
      missing(
        /^Chromium for the browser tests is missing at \/opt\/nowhere\/chrome \(CHROMIUM_PATH\): install .*, or point CHROMIUM_PATH at a Chromium executable, then run npm test again$/,
      ),
    );
  });

  it('reads CHROMIUM_PATH by default', () => {
    const before = process.env.CHROMIUM_PATH;
    process.env.CHROMIUM_PATH = '/opt/from-env/chromium';
    try {
      const { path: _ignored, ...rest } = world().options();
      assert.throws(() => ensureChromium(rest), missing(/missing at \/opt\/from-env\/chromium \(CHROMIUM_PATH\)/));
    } finally {
      if (before === undefined) delete process.env.CHROMIUM_PATH;
      else process.env.CHROMIUM_PATH = before;
    }
  });

  it('stops with one line when apt-get fails, or installs something that is not at the path', () => {
    assert.throws(
      () =>
        ensureChromium(
          world({ isRoot: true, installFails: 'apt-get install chromium failed: E: Unable to locate package chromium' }).options(
            DEFAULT_CHROMIUM,
          ),
        ),
      missing(/^Could not install Chromium for the browser tests: apt-get install chromium failed: E: Unable to locate package chromium$/),
    );
    assert.throws(
      () => ensureChromium(world({ isRoot: true, installs: [DEFAULT_CHROMIUM] }).options('/opt/nowhere/chrome')),
      missing(
        /^Debian's chromium package is installed, but \/opt\/nowhere\/chrome \(CHROMIUM_PATH\) is still not an executable: unset CHROMIUM_PATH/,
      ),
    );
  });
});

/** A TCP server on an ephemeral port that answers each connection with `reply` (or closes it). */
async function fakeServer(reply) {
  const server = createServer((socket) => socket.once('data', () => (reply === null ? socket.end() : socket.write(reply))));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('ensureRedis', () => {
  it('resolves when PING gets +PONG', async () => {
    const server = await fakeServer('+PONG\r\n');
    try {
      await ensureRedis({ port: server.port });
    } finally {
      await server.close();
    }
  });

  it('rejects with one line saying what to start or install when nothing listens', async () => {
    const server = await fakeServer('+PONG\r\n');
    const { port } = server;
    await server.close();
    await assert.rejects(
      ensureRedis({ port }),
      missing(
        new RegExp(
          `^Redis is not answering on 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): the tests need it; start it with \`redis-server --daemonize yes\` \\(if it is not installed: \`apt-get install redis-server\`\\), then run npm test again$`,
        ),
      ),
    );
  });

  it('rejects when something else answers on the port', async () => {
    for (const [reply, why] of [
      ['-NOAUTH Authentication required.\r\n', /answered "-NOAUTH Authentication required\." to PING/],
      [null, /closed the connection/],
    ]) {
      const server = await fakeServer(reply);
      try {
        await assert.rejects(ensureRedis({ port: server.port }), missing(why));
      } finally {
        await server.close();
      }
    }
  });
});

describe('ensureWrk', () => {
  it('is silent when wrk runs, installs it as root, and names the package otherwise', () => {
    assert.doesNotThrow(() => ensureWrk({ found: () => true, isRoot: false }));
    assert.throws(
      () => ensureWrk({ found: () => false, isRoot: false }),
      /install Debian's wrk package as root \(`sudo apt-get install wrk`\)/,
    );
    let installed = false;
    const said = [];
    ensureWrk({ found: () => installed, isRoot: true, install: () => (installed = true), say: (l) => said.push(l) });
    assert.deepEqual(said, [
      "wrk, the benchmark harness's load generator, is not on PATH: installing Debian's wrk package (apt-get install wrk)...",
    ]);
  });
});

describe('ensureFuse', () => {
  it('is silent when the fault layer can mount, installs fuse3 and fusepy as root, and names both otherwise', () => {
    assert.doesNotThrow(() => ensureFuse({ found: () => true, isRoot: false }));
    assert.throws(
      () => ensureFuse({ found: () => false, isRoot: false }),
      missing(
        /FUSE .* is missing .*: install Debian's packages fuse3 python3-fusepy as root \(`sudo apt-get install fuse3 python3-fusepy`\)/,
      ),
    );
    let installed = false;
    const said = [];
    ensureFuse({ found: () => installed, isRoot: true, install: () => (installed = true), say: (l) => said.push(l) });
    assert.equal(said.length, 1);
    assert.match(said[0], /installing Debian's packages fuse3 python3-fusepy \(apt-get install fuse3 python3-fusepy\)\.\.\.$/);
    assert.throws(
      () => ensureFuse({ found: () => false, isRoot: true, install: () => {}, say: () => {} }),
      missing(/packages fuse3 python3-fusepy are installed, but still: FUSE/),
    );
  });

  it('finds the real tools on this machine', () => {
    assert.doesNotThrow(() => ensureFuse({ isRoot: false }));
  });
});

describe('ensureMotoServer', () => {
  it('finds moto_server on PATH', () => {
    const found = ensureMotoServer({ path: '/nowhere:/opt/moto/bin', executable: (p) => p === '/opt/moto/bin/moto_server' });
    assert.equal(found, '/opt/moto/bin/moto_server');
  });

  it('says in one line what to install when it is missing', () => {
    assert.throws(
      () => ensureMotoServer({ path: '/usr/bin:/bin', executable: () => false }),
      missing(/moto_server is not on PATH: .*pip install 'moto\[server\]'/),
    );
  });
});

describe('the command', () => {
  it('prints one line and exits 1 on a prerequisite it does not know', async () => {
    const err = await promisify(execFile)(process.execPath, [SCRIPT, 'postgres']).then(
      () => undefined,
      (e) => e,
    );
    assert.equal(err?.code, 1);
    assert.equal(err.stderr, 'unknown prerequisite "postgres"; choose from redis, chromium, wrk, fuse, moto\n');
  });
});
