import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level?: string;
  /** Write somewhere other than stdout (tests). */
  destination?: NodeJS.WritableStream;
}

/** JSON logs as fastify writes them. Secrets are redacted by path wherever they could appear. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.EDGEPLANE_LOG_LEVEL ?? 'info',
      base: { pid: process.pid },
      redact: {
        paths: ['token', '*.token', 'admin.token', 'config.admin.token', 'headers.authorization', 'req.headers.authorization', 'keys', 'gossip.keys', '*.secret'],
        censor: '[redacted]',
      },
    },
    (options.destination as pino.DestinationStream | undefined) ?? pino.destination({ sync: false }),
  );
}

/** A logger that discards everything (unit tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });
