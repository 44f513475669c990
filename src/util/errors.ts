/** Base class: every error edgeplane raises on purpose has a stable `code`. */
export class EdgeplaneError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export interface ConfigIssue {
  /** JSON-pointer-like dotted path, e.g. `clusters[0].endpoints[1]`. */
  path: string;
  message: string;
  /** 1-based line in the source file, when known. */
  line?: number;
}

export class ConfigError extends EdgeplaneError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[], source?: string) {
    super('EP_CONFIG_INVALID', `${source ? source + ': ' : ''}${issues.length} config error(s):\n${formatIssues(issues)}`);
    this.issues = issues;
  }
}

export function formatIssues(issues: ConfigIssue[]): string {
  return issues.map((i) => `${i.path || '(root)'}${i.line ? ` (line ${i.line})` : ''}: ${i.message}`).join('\n');
}
