import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { ConfigError, env } from "../env";

// Destruction receipts are signed with the server's Ed25519 key (RECEIPT_SIGNING_KEY) so anyone holding the
// public key can check one offline: `openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in r.json -sigfile r.sig`.

/** The private key; throws when unset (only the launcher generates one, for the all-embedded default). */
export function receiptSigningKey(): KeyObject {
  const key = env.RECEIPT_SIGNING_KEY;
  if (!key) {
    throw new ConfigError([
      "RECEIPT_SIGNING_KEY is not set: run the service through `npm start` (the all-embedded default generates one " +
        "under DATA_DIR) or set it to `openssl genpkey -algorithm ed25519 | openssl pkey -outform DER | base64 -w0`",
    ]);
  }
  return key;
}

/** The public key as PEM (SubjectPublicKeyInfo), what GET /api/v1/receipts/public-key serves. */
export function receiptPublicKeyPem(): string {
  return createPublicKey(receiptSigningKey()).export({ type: "spki", format: "pem" }).toString();
}

/** SHA-256 of the public key's DER: names the key in every receipt it signs. */
export function receiptKeyId(): string {
  const der = createPublicKey(receiptSigningKey()).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex");
}

/** Base64 Ed25519 signature of the document's UTF-8 bytes. */
export function signDocument(document: string): string {
  return sign(null, Buffer.from(document, "utf8"), receiptSigningKey()).toString("base64");
}

/** True when the signature is the key's over exactly these bytes. */
export function verifyDocument(document: string, signature: string, publicKeyPem: string): boolean {
  return verify(null, Buffer.from(document, "utf8"), createPublicKey(publicKeyPem), Buffer.from(signature, "base64"));
}
