import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { applyDecorators, Controller, Get, Header, StreamableFile } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

/**
 * `public/` at the package root, found from this file (`src/app/web/` under test, `dist/app/web/` once
 * built), so the page is served whatever directory the process was started from.
 */
export const PUBLIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));

/** Same-origin scripts, styles and requests only: the page needs nothing else. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The upload page at `/`: three static files, no build step. Named routes rather than a static
 * directory, so no other path can ever be answered with a file from disk.
 */
@ApiExcludeController()
@Controller()
export class UploadPageController {
  @Get()
  @StaticAsset()
  @Header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
  page(): Promise<StreamableFile> {
    return asset('index.html', 'text/html; charset=utf-8');
  }

  @Get('upload.js')
  @StaticAsset()
  script(): Promise<StreamableFile> {
    return asset('upload.js', 'text/javascript; charset=utf-8');
  }

  @Get('upload.css')
  @StaticAsset()
  styles(): Promise<StreamableFile> {
    return asset('upload.css', 'text/css; charset=utf-8');
  }
}

/** Revalidated on every load, so a new version of the page is picked up at once. */
function StaticAsset(): MethodDecorator {
  return applyDecorators(Header('Cache-Control', 'no-cache'), Header('X-Content-Type-Options', 'nosniff'));
}

async function asset(name: string, type: string): Promise<StreamableFile> {
  return new StreamableFile(await readFile(PUBLIC_DIR + name), { type });
}
