// The configuration's error type, apart from the loader so that parts which check their own
// config (policy rules compile) do not import the file reader.

/** A problem with the configuration, in the `path: message` form SPEC.md fixes. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}
