// The error that stops the boot on an invalid option; its message names the option.

/** Thrown at boot when an option is invalid; the message names the option. */
export class RealtimeOptionsError extends Error {
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(`RealtimeModule: invalid option "${option}": ${problem}`);
    this.name = 'RealtimeOptionsError';
  }
}
