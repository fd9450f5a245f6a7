// Tracker failures. Expected outcomes (a lost compare-and-set) are values, not errors; these
// are the rest. Every code is stable (scripts match on it); every message says what failed
// and what to do.

export type TrackerErrorCode =
  | 'invalid_work_item_id'
  | 'invalid_work_item'
  | 'work_item_exists'
  | 'work_item_not_found'
  | 'work_item_corrupt'
  | 'tracker_locked'
  | 'workspace_not_found'
  | 'tracker_io_failed';

export class TrackerError extends Error {
  override readonly name = 'TrackerError';
  readonly code: TrackerErrorCode;
  /** The file concerned, when there is one (corrupt item, held lock, failed write). */
  readonly file: string | undefined;

  constructor(code: TrackerErrorCode, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.file = options.file;
  }

  toJSON(): { code: TrackerErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isTrackerError(error: unknown, code?: TrackerErrorCode): error is TrackerError {
  return error instanceof TrackerError && (code === undefined || error.code === code);
}
