import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sut from './index.js';

const src = fileURLToPath(new URL('.', import.meta.url));

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))),
  );
  return nested.flat().filter((f) => f.endsWith('.ts'));
}

describe('the public entry (src/index.ts)', () => {
  it('exports every domain error, so a host can catch each one by class', async () => {
    const errorFiles = (await readdir(join(src, 'domain', 'errors'))).filter((f) => f.endsWith('.error.ts'));
    for (const file of errorFiles) {
      const errorModule = (await import(`./domain/errors/${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(errorModule)) {
        expect({ file, name, exported: (sut as Record<string, unknown>)[name] === value }).toEqual({ file, name, exported: true });
      }
    }
  });

  it('is imported by no code inside the package (a barrel used internally makes import cycles)', async () => {
    const offenders: string[] = [];
    for (const file of await sourceFiles(src)) {
      if (file === join(src, 'index.ts') || file.endsWith('.spec.ts')) continue;
      const text = await readFile(file, 'utf8');
      if (/from '(\.\.?\/)+index\.js'|from 'stowage(\/[^']*)?'/.test(text)) offenders.push(relative(src, file));
    }
    expect(offenders).toEqual([]);
  });
});
