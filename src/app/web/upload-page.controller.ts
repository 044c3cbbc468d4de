import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyDecorators, Controller, Get, Header, NotFoundException, StreamableFile } from '@nestjs/common';
import { ApiExcludeController } from '../../uploads/http/openapi.js';

/**
 * `public/` at the package root, found by walking up from this file (`src/app/web/` under test,
 * `dist/app/web/` once built, or a test build elsewhere in the tree), so the page is served whatever
 * directory the process was started from.
 */
export const PUBLIC_DIR = findPublicDir(dirname(fileURLToPath(import.meta.url)));

function findPublicDir(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'public', 'index.html'))) return join(dir, 'public') + '/';
    if (dirname(dir) === dir) return fileURLToPath(new URL('../../../public/', import.meta.url));
  }
}

/** Uppy's prebuilt bundle (`uppy/dist/`), served as it is: no build step, no CDN. */
function uppyFile(name: 'uppy.min.js' | 'uppy.min.css'): string | undefined {
  try {
    return createRequire(import.meta.url).resolve(`uppy/dist/${name}`);
  } catch {
    return undefined;
  }
}

/**
 * Same-origin scripts, styles and requests only: the page needs nothing else. Thumbnails of chosen
 * images are `blob:` URLs.
 */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The upload page at `/`: a few static files and Uppy's bundle, no build step. Named routes rather
 * than a static directory, so no other path can ever be answered with a file from disk.
 */
@ApiExcludeController()
@Controller()
export class UploadPageController {
  @Get()
  @StaticAsset()
  @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  page(): Promise<StreamableFile> {
    return asset(PUBLIC_DIR + 'index.html', 'text/html; charset=utf-8');
  }

  @Get('upload.js')
  @StaticAsset()
  script(): Promise<StreamableFile> {
    return asset(PUBLIC_DIR + 'upload.js', 'text/javascript; charset=utf-8');
  }

  @Get('upload.css')
  @StaticAsset()
  styles(): Promise<StreamableFile> {
    return asset(PUBLIC_DIR + 'upload.css', 'text/css; charset=utf-8');
  }

  @Get('favicon.ico')
  @Header('Cache-Control', 'public, max-age=86400')
  @Header('X-Content-Type-Options', 'nosniff')
  favicon(): Promise<StreamableFile> {
    return asset(PUBLIC_DIR + 'favicon.ico', 'image/x-icon');
  }

  @Get('uppy/uppy.min.js')
  @StaticAsset()
  uppyScript(): Promise<StreamableFile> {
    return uppyAsset('uppy.min.js', 'text/javascript; charset=utf-8');
  }

  @Get('uppy/uppy.min.css')
  @StaticAsset()
  uppyStyles(): Promise<StreamableFile> {
    return uppyAsset('uppy.min.css', 'text/css; charset=utf-8');
  }
}

/** Revalidated on every load, so a new version of the page is picked up at once. */
function StaticAsset(): MethodDecorator {
  return applyDecorators(Header('Cache-Control', 'no-cache'), Header('X-Content-Type-Options', 'nosniff'));
}

async function asset(path: string, type: string): Promise<StreamableFile> {
  return new StreamableFile(await readFile(path), { type });
}

async function uppyAsset(name: 'uppy.min.js' | 'uppy.min.css', type: string): Promise<StreamableFile> {
  const path = uppyFile(name);
  // A dev dependency: an install without it (npm ci --omit=dev) serves the API but not this page.
  if (!path) throw new NotFoundException(`The upload page needs the "uppy" package (npm install uppy); ${name} is not installed`);
  return asset(path, type);
}
