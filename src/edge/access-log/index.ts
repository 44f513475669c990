export { AccessLog, AccessLogs, type AccessLogConfig, type AccessLogOptions } from './access-log.ts';
export type { AccessRecord } from './record.ts';
export { formatJson, formatCombined } from './formats.ts';
export { queryRedactor, DEFAULT_REDACTED_QUERY, REDACTED } from './redact.ts';
export { LineSink, AccessLogOpenError, MAX_BUFFERED_BYTES } from './sink.ts';
