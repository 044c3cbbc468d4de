// What a consumer gets from the two entry points, for the suite that checks the package itself.
export * as stowage from 'stowage';
export * as stowageTesting from 'stowage/testing';
