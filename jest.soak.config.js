// The soak (npm run test:soak): the same setup as jest.config.js, its own files (*.soak-spec.ts), one
// at a time, each bounded by its own timeout. .ci/run runs it after the other suites.
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/soak/'],
  testRegex: '.*\\.soak-spec\\.ts$',
  testTimeout: 300000,
  maxWorkers: 1,
};
