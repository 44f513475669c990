/**
 * One problem a cross-check found, by config path. Its own file so the checks
 * that live with their modules (health, JWT, rate limits) and the one that
 * runs them all (cross-check.ts) import it without importing each other.
 */
export interface RawIssue {
  path: (string | number)[];
  message: string;
  /** Point at the key itself (for "unknown key" style errors). */
  key?: string;
}
