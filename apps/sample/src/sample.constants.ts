// Injection token of the sample app's configuration.
export const SAMPLE_CONFIG = Symbol('SAMPLE_CONFIG');
