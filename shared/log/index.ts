/**
 * Structured JSON logging for every runtime (Lambda, the Node server, the CLI, the local cluster).
 * One pino logger per process; callers derive children carrying an invocation id or a component name.
 */
import { type Logger as PinoLogger, pino } from "pino";

export type Logger = PinoLogger;

const level = process.env.LOG_LEVEL ?? (process.env.VITEST ? "silent" : "info");

/** The process-wide root logger (JSON lines on stdout). */
export const rootLogger: Logger = pino({
  level,
  base: null,
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});

/** A child logger for one component (`apiserver`, `reconcile`, …) with extra bound fields. */
export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}
