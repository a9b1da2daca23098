// One error type for the whole app; the code decides the HTTP status in exactly one place.
export const errorStatus = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 422,
  unauthorized: 401,
  token_missing: 401,
  token_malformed: 401,
  token_invalid: 401,
  invalid_credentials: 401,
  account_disabled: 403,
  forbidden: 403,
  not_found: 404,
  not_destroyed: 404,
  conflict: 409,
  email_taken: 409,
  payload_too_large: 413,
  invalid_file_name: 422,
  file_exists: 409,
  file_too_large: 413,
  quota_exceeded: 413,
  too_many_files: 422,
  share_not_open: 409,
  upload_expired: 410,
  upload_incomplete: 409,
  part_mismatch: 422,
  size_mismatch: 422,
  not_multipart: 400,
  no_files: 409,
  file_failed: 409,
  upload_in_progress: 409,
  download_limit_reached: 403,
  range_not_satisfiable: 416,
  rate_limited: 429,
  internal: 500,
  service_unavailable: 503,
  database_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "AppError";
    this.status = errorStatus[code];
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;

export type ErrorBody = { error: { code: ErrorCode; message: string; details?: unknown } };

export function errorBody(e: AppError): ErrorBody {
  return { error: { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) } };
}
