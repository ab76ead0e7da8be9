/**
 * Where the package reports what an operator should know (a backend that went away, a sweep
 * that failed). Messages never carry tokens, session data or connection strings.
 */
export interface Logger {
  warn(message: string): void;
  error(message: string): void;
}

/** Lines on the console, each with a prefix naming who speaks. */
export function consoleLogger(prefix = "[holdfast/session]"): Logger {
  return {
    warn: (message) => console.warn(`${prefix} ${message}`),
    error: (message) => console.error(`${prefix} ${message}`),
  };
}

/** Says nothing: for tests that provoke failures on purpose. */
export const silentLogger: Logger = { warn() {}, error() {} };

/** A warning said at most once every `intervalMs` (a backend that is away fails every request). */
export function throttledWarn(logger: Logger, intervalMs = 10_000): (line: string) => void {
  let last = -Infinity;
  return (line) => {
    if (Date.now() - last <= intervalMs) return;
    last = Date.now();
    logger.warn(line);
  };
}
