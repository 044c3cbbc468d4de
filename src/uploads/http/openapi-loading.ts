/**
 * When the route descriptions load `@nestjs/swagger`. By default they do so as the routes are
 * defined, so a host app's own `SwaggerModule.createDocument()` finds them, as with any Nest
 * controller. The standalone service opts out before it loads its modules: Swagger (and the
 * es-toolkit and js-yaml it brings) is then loaded when someone first opens `/docs`, not at start-up.
 * Its own module, so the choice can be made before `openapi.ts` is evaluated.
 */
let onDemand = false;

/** Call before the modules with the routes are imported (see `main.ts`). */
export function describeRoutesOnDemand(): void {
  onDemand = true;
}

export function routesDescribedOnDemand(): boolean {
  return onDemand;
}
