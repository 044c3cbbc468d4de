import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../config/environment.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

interface HttpPair {
  request: { headers: Record<string, string | string[] | undefined> };
  response: { setHeader(name: string, value: string): unknown };
}

/**
 * The standalone service's optional API-key check on the uploads routes. Off while `API_KEYS` is
 * empty; otherwise `Authorization: Bearer <key>` must carry one of the keys, or the answer is 401.
 * Keys are compared as SHA-256 digests with `timingSafeEqual`, so response times tell nothing
 * about a key's content or length.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: Buffer[];

  constructor(config: ConfigService<EnvironmentVariables, true>) {
    this.keys = config.get('API_KEYS', { infer: true }).map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.keys.length === 0) return true;
    const http = context.switchToHttp();
    const { headers } = http.getRequest<HttpPair['request']>();
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(typeof headers.authorization === 'string' ? headers.authorization : '');
    const presented = bearer ? digest(bearer[1]) : undefined;
    // Every key is compared, so the time taken does not tell which one matched.
    let valid = false;
    for (const key of this.keys) valid = (presented !== undefined && timingSafeEqual(key, presented)) || valid;
    if (valid) return true;
    http.getResponse<HttpPair['response']>().setHeader('WWW-Authenticate', bearer ? 'Bearer error="invalid_token"' : 'Bearer');
    throw new UnauthorizedException(bearer ? 'Invalid API key' : 'Missing API key: send "Authorization: Bearer <key>"');
  }
}
