import type { Logger } from '../pipeline/types.js';

/** A Logger writing one JSON object per line (to stderr), with fields bound by `child` (run, tile, worker). */
export interface JsonLogger extends Logger {
  child(fields: Record<string, unknown>): JsonLogger;
}

export function jsonLogger(bound: Record<string, unknown> = {}, write: (line: string) => void = (l) => process.stderr.write(l)): JsonLogger {
  const emit = (level: string, msg: string, fields?: Record<string, unknown>) => write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...bound, ...fields })}\n`);
  return {
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    debug: (m, f) => (process.env.FARMWATCH_DEBUG ? emit('debug', m, f) : undefined),
    child: (fields) => jsonLogger({ ...bound, ...fields }, write),
  };
}
