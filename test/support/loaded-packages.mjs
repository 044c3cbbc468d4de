// Preloaded into a service process by tests (node --import): when the process exits, prints one
// JSON line naming every npm package the process loaded. ES imports are seen by a resolve hook,
// require() calls inside CommonJS packages by the require cache; together they see every package.
import { createRequire, register } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const imported = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => imported.add(url));
port1.unref();

const hooks = `
let port;
export function initialize(data) { port = data.port; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage(result.url);
  return result;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] });

function packageOf(file) {
  const parts = file.split(/[\\/]node_modules[\\/]/);
  if (parts.length < 2) return undefined;
  const rest = parts.at(-1).split(/[\\/]/);
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

process.on('exit', () => {
  const files = [...Object.keys(require.cache), ...[...imported].filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url))];
  const packages = [...new Set(files.map(packageOf).filter(Boolean))].sort();
  // A pipe write is synchronous on Linux and macOS, so this line is out before the process ends.
  process.stdout.write(`${JSON.stringify({ event: 'test.loaded_packages', packages })}\n`);
});
