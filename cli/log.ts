import type { Logger } from '../pipeline/types.js';

/** A logger writing to stderr: human lines by default, JSON lines (one object per event) with `json`. */
export function createLogger(opts: { json?: boolean; quiet?: boolean; debug?: boolean } = {}): Logger {
  const write = (level: string, msg: string, fields?: Record<string, unknown>) => {
    if (opts.quiet && level !== 'warn') return;
    if (opts.json) {
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
      return;
    }
    const extra = fields ? ` ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : '';
    process.stderr.write(`[farmwatch] ${level === 'info' ? '' : `${level}: `}${msg}${extra}\n`);
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    debug: (m, f) => (opts.debug ? write('debug', m, f) : undefined),
  };
}
