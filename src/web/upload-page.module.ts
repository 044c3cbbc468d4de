import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { ServeStaticModule } from '@nestjs/serve-static';

/**
 * `public/` at the package root, found from this file (`src/web/` under test, `dist/web/` once
 * built), so the page is served whatever directory the process was started from.
 */
export const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

/**
 * The upload page at `/`: plain static files, no build step. `renderPath: '/'` serves
 * `index.html` at the root only; any other unknown path stays a 404 rather than the page.
 */
@Module({
  imports: [ServeStaticModule.forRoot({ rootPath: PUBLIC_DIR, renderPath: '/', serveStaticOptions: { index: 'index.html', fallthrough: true } })],
})
export class UploadPageModule {}
