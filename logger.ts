/**
 * Where and how much the pool logs.
 *
 * @module
 */

/**
 * How much a pool logs: each level includes those after it; `"off"` logs
 * nothing.
 *
 * @example Quieter or louder pools
 * ```ts
 * import { Pool } from "./mod.ts";
 *
 * const quiet = new Pool({ fun: () => ({}), logLevel: "error" });
 * const verbose = new Pool({ fun: () => ({}), logLevel: "debug", logger: console });
 * await quiet.shutdown();
 * await verbose.shutdown();
 * ```
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "off";

/**
 * Where a pool logs. `console` fits, and so does any logger with these four
 * methods (logtape, pino, winston…). Each call receives one message string.
 *
 * @example Send pool messages to your own logger
 * ```ts
 * import { type Logger, Pool } from "./mod.ts";
 *
 * const lines: string[] = [];
 * const logger: Logger = {
 *   debug: (m) => lines.push(`debug ${m}`),
 *   info: (m) => lines.push(`info ${m}`),
 *   warn: (m) => lines.push(`warn ${m}`),
 *   error: (m) => lines.push(`error ${m}`),
 * };
 * const pool = new Pool({ fun: () => ({}), logger, logLevel: "info" });
 * await pool.shutdown();
 * ```
 */
export interface Logger {
  /** Details useful when debugging the pool itself. */
  debug(message: string): void;
  /** Normal but notable events: housekeeping started, pool shut down. */
  info(message: string): void;
  /** Something is off but the pool copes: a hook threw, a double return. */
  warn(message: string): void;
  /** Something failed: a creation, a health check, a closer. */
  error(message: string): void;
}

/** The levels in increasing order of importance. */
export const LOG_LEVELS: readonly LogLevel[] = [
  "debug",
  "info",
  "warn",
  "error",
  "off",
];

const noop = (_message: string): void => {};

/**
 * A logger that forwards to `logger` the levels at or above `level`, and
 * drops the others without calling anything. Each message gets `prefix`.
 *
 * @param logger Where messages go.
 * @param level The least important level that is kept.
 * @param prefix Put before every message, e.g. the pool id.
 * @returns A logger with the same four methods.
 */
export function filterLogger(
  logger: Logger,
  level: LogLevel,
  prefix: string,
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const pass = (name: Exclude<LogLevel, "off">) =>
    LOG_LEVELS.indexOf(name) >= min
      ? (message: string) => {
        try {
          logger[name](`${prefix}${message}`);
        } catch {
          // a broken logger must not break the pool
        }
      }
      : noop;
  return {
    debug: pass("debug"),
    info: pass("info"),
    warn: pass("warn"),
    error: pass("error"),
  };
}
