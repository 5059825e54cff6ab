/**
 * Ledger errors: AppErrors (pipeline/errors.ts) with the ledger's codes, so the CLI prints them like
 * every other expected failure and a web app can map them to HTTP statuses (NOT_FOUND → 404,
 * INVALID_TRANSITION / MISSING_EVIDENCE → 422, CONFLICT → 409).
 */
import { AppError } from '../pipeline/errors.js';

/** Base of every ledger failure. */
export class LedgerError extends AppError {}

/** A case, run or project that does not exist. */
export class NotFoundError extends LedgerError {}

/** A lifecycle step the state machine does not allow, or one missing its evidence fields. */
export class TransitionError extends LedgerError {}

/** Someone else changed the case since the caller read it (optimistic locking). */
export class ConflictError extends LedgerError {}
