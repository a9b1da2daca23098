import crypto from "node:crypto";
import fs from "node:fs";
import * as completeRoute from "@/app/api/v1/shares/[id]/files/[fileId]/complete/route";
import * as partsRoute from "@/app/api/v1/shares/[id]/files/[fileId]/parts/route";
import * as filesRoute from "@/app/api/v1/shares/[id]/files/route";
import * as sealRoute from "@/app/api/v1/shares/[id]/seal/route";
import * as meRoute from "@/app/api/v1/me/route";
import * as sharesRoute from "@/app/api/v1/shares/route";
import { createApiToken, generateToken, revokeApiToken } from "@/lib/auth/api-tokens";
import { signIn } from "@/lib/auth/sign-in";
import { closeDb } from "@/lib/db";
import { log } from "@/lib/log";
import { processFile } from "@/lib/processing/process-file";
import { closeQueues } from "@/lib/queues";
import { closeRedis } from "@/lib/redis";
import { checkCredentials } from "@/lib/shares/credentials";
import { createUserSchema } from "@/lib/users/schemas";
import { createUser } from "@/lib/users/users";
import { HOST, run } from "../ftp/harness";
import { startShareGateway } from "../ftp/share-gateway";

// A real flow whose every log line (LOG_LEVEL=trace, JSON) goes to this process's output, for
// tests/integration/log-secrets.test.ts to scan. The secrets it handled are written to SECRETS_OUT, apart from
// the log. Sign-in with a wrong and a right password, API calls with good, bad and revoked tokens, presigned
// uploads, an incomplete completion, processing, seal (FTP password), FTP logins wrong and right, and a download.

const secrets: string[] = [process.env.AUTH_SECRET ?? "", process.env.MASTER_KEY ?? "", process.env.S3_SECRET_ACCESS_KEY ?? ""];
const keep = (...s: string[]) => secrets.push(...s);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
async function call(handler: unknown, token: string | null, params: Record<string, string> = {}, body?: unknown, method?: string): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { "content-type": "application/json", "x-forwarded-for": "203.0.113.9" };
  if (token) headers.authorization = `Bearer ${token}`;
  const req = new Request("http://127.0.0.1/api/v1/flow", { method: method ?? (body === undefined ? "GET" : "POST"), headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const res = await (handler as (r: Request, c: unknown) => Promise<Response>)(req, { params: Promise.resolve(params) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? (JSON.parse(text) as Json) : {} };
}

async function main() {
  const email = `flow.${crypto.randomUUID()}@example.test`;
  const { user, password } = await createUser(createUserSchema.parse({ email, role: "user" }));
  keep(password!);
  await signIn({ email, password: `${password}x` }, "203.0.113.9").catch((err: unknown) => log.info({ err }, "flow: wrong password refused"));
  await signIn({ email, password }, "203.0.113.9");

  const { token, row } = await createApiToken(user.id, "flow");
  const stranger = generateToken();
  keep(token, stranger);
  await call(meRoute.GET, stranger);
  await call(meRoute.GET, `${token.slice(0, 20)}`);

  const share = (await call(sharesRoute.POST, token, {}, { name: "log flow" })).body;
  const single = (await call(filesRoute.POST, token, { id: share.id }, { name: "a.txt", size: 5 })).body;
  keep(single.upload.url);
  const put = await fetch(single.upload.url, { method: "PUT", headers: single.upload.headers, body: "hello" });
  if (put.status !== 200) throw new Error(`PUT ${put.status}`);
  keep(...Object.values((await call(partsRoute.POST, token, { id: share.id, fileId: single.file.id }, { partNumbers: [1] })).body.urls as Record<string, string>));
  await call(completeRoute.POST, token, { id: share.id, fileId: single.file.id }, {});

  const big = (await call(filesRoute.POST, token, { id: share.id }, { name: "big.bin", size: 70 * 1024 * 1024 })).body;
  keep(...Object.values((await call(partsRoute.POST, token, { id: share.id, fileId: big.file.id }, { partNumbers: [1, 2] })).body.urls as Record<string, string>));
  // (Not every part: the embedded S3 server crashes when asked to assemble parts it never received.)
  await call(completeRoute.POST, token, { id: share.id, fileId: big.file.id }, { parts: [{ partNumber: 1, etag: '"0"' }] });
  await call(filesRoute.POST, token, { id: share.id }, { name: "bad\u202Ename", size: 1 });
  await fetch(single.upload.url.replace(/X-Amz-Signature=[0-9a-f]+/, "X-Amz-Signature=0"), { method: "PUT", body: "x" }).catch(() => undefined);

  await processFile({ shareId: share.id, fileId: single.file.id });
  // The unfinished multipart upload blocks the seal: remove it through the API first.
  const fileRoute = await import("@/app/api/v1/shares/[id]/files/[fileId]/route");
  await call(fileRoute.DELETE, token, { id: share.id, fileId: big.file.id }, undefined, "DELETE");
  const sealed = await call(sealRoute.POST, token, { id: share.id });
  const ftp = sealed.body.credentials as { username: string; password: string };
  keep(ftp.password);
  await checkCredentials(ftp.username, `${ftp.password}x`);
  await checkCredentials(ftp.username, ftp.password);

  const { server, port } = await startShareGateway({ pasvCount: 10, failedLoginDelayMs: 5 });
  await run("curl", ["-sS", `ftp://${ftp.username}:${ftp.password}x@${HOST}:${port}/a.txt`]);
  const got = await run("curl", ["-sS", `ftp://${ftp.username}:${ftp.password}@${HOST}:${port}/a.txt`]);
  if (got.stdout.toString() !== "hello") throw new Error(`FTP download got ${JSON.stringify(got.stdout.toString())}`);
  await server.close();

  await revokeApiToken(user.id, row.id);
  await call(meRoute.GET, token);

  fs.writeFileSync(process.env.SECRETS_OUT!, JSON.stringify(secrets.filter(Boolean)));
  log.info("flow: done");
}

main()
  .then(async () => {
    await closeQueues();
    await closeRedis();
    await closeDb();
    process.exit(0);
  })
  .catch((err) => {
    console.error("flow failed:", err);
    process.exit(1);
  });
