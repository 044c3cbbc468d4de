/** Options after defaults and validation; what every provider of the module reads. */
export const RESOLVED_UPLOADS_OPTIONS = Symbol('RESOLVED_UPLOADS_OPTIONS');
