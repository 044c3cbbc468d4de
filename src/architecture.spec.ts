import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('.', import.meta.url));

/**
 * The rooms of `src/` and how low each sits. A file may import its own room and any lower one,
 * never a higher one or a sibling at its own height: that keeps imports pointing one way, down.
 */
const RANK: Record<string, number> = {
  common: 0,
  domain: 0,
  storage: 1,
  records: 1,
  tasks: 1,
  uploads: 2,
  testing: 3,
  app: 4,
  'index.ts': 5,
};

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))),
  );
  return nested.flat().filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
}

const roomOf = (file: string) => relative(src, file).split(sep)[0];
const IMPORTS = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

describe('the architecture of src/', () => {
  it('puts every file in a known room', async () => {
    const rooms = new Set((await sourceFiles(src)).map(roomOf));
    expect([...rooms].filter((r) => !(r in RANK))).toEqual([]);
  });

  it('has imports that only point down (or within a room)', async () => {
    const upward: string[] = [];
    for (const file of await sourceFiles(src)) {
      const from = roomOf(file);
      for (const [, spec] of (await readFile(file, 'utf8')).matchAll(IMPORTS)) {
        const to = roomOf(join(dirname(file), spec));
        if (to !== from && RANK[to] >= RANK[from]) upward.push(`${relative(src, file)} -> ${spec} (${from} may not import ${to})`);
      }
    }
    expect(upward).toEqual([]);
  });
});
