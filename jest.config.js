// One jest run for unit specs (next to the sources) and e2e specs (test/).
/** @type {import('jest').Config} */
module.exports = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  rootDir: '.',
  roots: ['<rootDir>/libs/', '<rootDir>/apps/', '<rootDir>/test/'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: false, diagnostics: { warnOnly: false } }] },
  testEnvironment: 'node',
  moduleNameMapper: {
    '^nest-realtime$': '<rootDir>/libs/realtime/src',
    '^nest-realtime/(.*)$': '<rootDir>/libs/realtime/src/$1',
    '^nest-realtime-client$': '<rootDir>/libs/realtime-client/src',
    '^nest-realtime-client/(.*)$': '<rootDir>/libs/realtime-client/src/$1',
  },
  globalSetup: '<rootDir>/test/support/compile-workers.ts', // compiles the library's *.worker.ts: workers run compiled
  testTimeout: 30000,
  maxWorkers: 2,
};
