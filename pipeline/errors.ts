/**
 * Every expected failure is an AppError with a machine-readable code and the context needed to
 * act on it (file, band, field, tile). The CLI prints `message` and exits non-zero.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'FILE_NOT_FOUND'
  | 'CORRUPT_FILE'
  | 'UNSUPPORTED_FORMAT'
  | 'UNSUPPORTED_CRS'
  | 'NO_GEOREFERENCE'
  | 'MISSING_BAND'
  | 'NO_OVERLAP'
  | 'GRID_MISMATCH'
  | 'MODEL_INVALID'
  | 'MODEL_INPUT_MISMATCH'
  | 'VECTOR_INVALID'
  | 'RULE_INVALID'
  | 'OUTPUT_FAILED'
  | 'ABORTED'
  // The ledger (ledger/errors.ts).
  | 'DB_UNAVAILABLE'
  | 'MIGRATION_FAILED'
  | 'NOT_FOUND'
  | 'INVALID_TRANSITION'
  | 'MISSING_EVIDENCE'
  | 'CONFLICT'
  | 'RUN_INVALID';

export interface ErrorContext {
  readonly file?: string;
  readonly band?: string;
  readonly field?: string;
  readonly tile?: string;
  readonly stage?: string;
  readonly [key: string]: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;
  /** False when retrying cannot help (bad input); workers fail such jobs without retry. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.context = context;
    this.retryable = options.retryable ?? false;
  }
}

export class ImageryError extends AppError {}
export class ModelError extends AppError {}
export class ConfigError extends AppError {}
export class VectorError extends AppError {}
export class RuleError extends AppError {}
export class OutputError extends AppError {}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
