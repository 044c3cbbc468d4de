// Nest 12 ships ESM only, so jest runs in its native ESM mode (see package.json "test").
const tsJest = ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }];
const common = {
  moduleFileExtensions: ['ts', 'js', 'json'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
  setupFiles: ['reflect-metadata'],
};
export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      rootDir: 'src',
      testRegex: '.*\\.spec\\.ts$',
      // Redis must answer (one line says what to start otherwise).
      globalSetup: '<rootDir>/../test/support/unit-global-setup.mjs',
    },
    {
      ...common,
      displayName: 'e2e',
      rootDir: 'test',
      testRegex: '.*\\.e2e-spec\\.ts$',
      setupFilesAfterEnv: ['<rootDir>/support/timeout.ts'],
      // Checks Redis and Chromium (installing Chromium as root), starts moto's S3 server (stopped by the
      // teardown), then builds src/ once for the suites
      // that run the service as a child process.
      globalSetup: '<rootDir>/support/global-setup.mjs',
      globalTeardown: '<rootDir>/support/global-teardown.mjs',
    },
  ],
};
