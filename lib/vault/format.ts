// The vault format (docs/vault-format.md): segmented AES-256-GCM for files at rest. Framework-free.
export { decryptStream, VaultDecryptStream, type DecryptOptions, type DecryptStats } from "./decrypt";
export { encryptStream, VaultEncryptStream, type EncryptOptions, type EncryptResult } from "./encrypt";
export { isVaultError, VaultError, type VaultErrorCode } from "./errors";
export {
  deriveDataKey,
  HEADER_RANGE,
  HEADER_SIZE,
  MAX_PLAINTEXT_SIZE,
  parseHeader,
  plaintextSize,
  SEALED_SEGMENT_SIZE,
  segmentCount,
  segmentRangeFor,
  SEGMENT_SIZE,
  TAG_SIZE,
  vaultSize,
  type ShareKey,
  type VaultHeader,
  type VaultRange,
} from "./layout";
