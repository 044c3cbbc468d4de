/** A setting the service cannot start with; its message names the variable, the value and what is expected. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}
