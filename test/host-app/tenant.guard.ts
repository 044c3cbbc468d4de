import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';

/** The host's own rule for its file routes: every call names a tenant. */
@Injectable()
export class TenantGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    return typeof request.headers['x-tenant-id'] === 'string';
  }
}
