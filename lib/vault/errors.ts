// One error type for everything the vault refuses; the code says what was detected, the message says where.
export type VaultErrorCode =
  | "bad_header" // not a vault object, or a version / segment size this code does not read
  | "auth_failed" // a segment's tag does not verify: corrupted, reordered, wrong key or wrong file id
  | "truncated" // the object ends before its last segment
  | "trailing_data" // bytes follow the last segment (an appended segment)
  | "bad_range" // an offset or length outside the file
  | "bad_length" // a vault size no vault object can have
  | "too_large" // more segments than the nonce can number
  | "bad_key" // a share key that is not 32 bytes
  | "unknown_master_key" // the share key is wrapped under a master key id MASTER_KEY no longer holds
  | "unwrap_failed"; // the wrapped share key does not verify under its master key and share id

export class VaultError extends Error {
  constructor(
    readonly code: VaultErrorCode,
    message: string,
    readonly segment?: number,
  ) {
    super(message);
    this.name = "VaultError";
  }
}

export const isVaultError = (e: unknown): e is VaultError => e instanceof VaultError;
