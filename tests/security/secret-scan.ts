// Finds secrets in log text: the literal values a test knows it handled, and the shapes secrets take whatever
// their value (API tokens, presigned signatures, bearer headers, password hashes, unredacted secret fields).

export type Finding = { line: number; what: string; excerpt: string };

const SHAPES: { what: string; re: RegExp }[] = [
  { what: "API token", re: /tft_[A-Za-z0-9_-]{32,}/ },
  { what: "webhook signing secret", re: /whsec_[A-Za-z0-9+/]{32,}/ },
  { what: "presigned URL signature", re: /X-Amz-Signature=[0-9a-f]{16,}/i },
  { what: "presigned URL credential", re: /X-Amz-Credential=[^&\s"]+/i },
  { what: "bearer credential", re: /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/i },
  { what: "password hash", re: /scrypt\$\d+\$\d+\$\d+\$/ },
  { what: "session cookie", re: /next-auth\.session-token=[A-Za-z0-9._-]{16,}/ },
  { what: "PEM private key", re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: "credentials in a URL", re: /\b(?:redis|rediss|postgres|postgresql):\/\/[^\s:@/"]*:[^\s@/"]+@/ },
  {
    what: "unredacted secret field",
    re: /"(?:password|newPassword|passwordHash|secret|token|apiToken|authorization|cookie|masterKey|MASTER_KEY|AUTH_SECRET|ADMIN_PASSWORD|ADMIN_API_TOKEN|secretAccessKey|S3_SECRET_ACCESS_KEY|wrappedKey|shareKey)"\s*:\s*"(?!\[redacted\])[^"]+"/i,
  },
];

// The one place a secret is printed on purpose: the launcher shows the generated admin password once.
const ALLOWED = [/admin password \(shown once[^)]*\): /];

export function findSecrets(text: string, known: string[] = []): Finding[] {
  const literals = known.filter((k) => k && k.length >= 8);
  const findings: Finding[] = [];
  text.split("\n").forEach((line, i) => {
    if (ALLOWED.some((re) => re.test(line))) return;
    const excerpt = (at: number) => line.slice(Math.max(0, at - 40), at + 60);
    for (const { what, re } of SHAPES) {
      const m = re.exec(line);
      if (m) findings.push({ line: i + 1, what, excerpt: excerpt(m.index) });
    }
    for (const k of literals) {
      const at = line.indexOf(k);
      if (at >= 0) findings.push({ line: i + 1, what: "a known secret value", excerpt: excerpt(at).replace(k, `<${k.slice(0, 3)}…>`) });
    }
  });
  return findings;
}

/** The secret values an app stack was given or generated: its env's secrets and the files under its DATA_DIR. */
export function stackSecrets(env: Record<string, string>, dataDir: string, read: (file: string) => string | undefined): string[] {
  const fromEnv = Object.entries(env)
    .filter(([k]) => /PASSWORD|TOKEN|SECRET|MASTER_KEY|SIGNING_KEY/.test(k) && !/_KEY_ID$/.test(k))
    .map(([, v]) => v);
  const files = ["master-key", "auth-secret", "redis/password", "postgres/password", "receipt-signing-key", "metrics-token"];
  const fromFiles = files.map((f) => read(`${dataDir}/${f}`)?.trim()).filter((v): v is string => !!v);
  // A key file may hold `id:base64`: the base64 part alone is the secret too.
  return [...fromEnv, ...fromFiles, ...fromFiles.flatMap((v) => (v.includes(":") ? [v.slice(v.indexOf(":") + 1)] : []))];
}
