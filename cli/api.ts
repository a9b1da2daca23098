import { CliError, EXIT, Interrupted } from "./errors";
import type { Target } from "./config";
import type { ShareView } from "../lib/shares/shares";
import type { DeclaredFile, ResumeState } from "../lib/uploads/uploads";

// The REST API v1 over fetch, with the server's error codes turned into the CLI's exit codes. Only types come
// from lib/ (erased at run time): the CLI never loads the web app's modules.

/** Dates arrive as ISO strings over JSON. */
type Wire<T> = T extends Date ? string : T extends (infer U)[] ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;
export type Share = Wire<ShareView>;
export type ShareFile = Share["files"][number];
export type Declared = Wire<DeclaredFile>;
export type Resume = Wire<ResumeState>;
export type Credentials = { host: string; port: number; username: string; password: string };
export type Me = { user: { id: string; email: string; role: string } };

const AUTH_CODES = new Set(["unauthorized", "token_missing", "token_malformed", "token_invalid", "invalid_credentials", "account_disabled"]);

export function networkError(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (err as Error).message;
  return new CliError(EXIT.network, `Cannot reach ${url}: ${why}`);
}

/** A refusal as the CLI reports it: 401s and disabled accounts are authentication (3), the rest refusals (4). */
export function refusal(status: number, body: unknown): CliError {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof e?.code === "string" ? e.code : `http_${status}`;
  const message = typeof e?.message === "string" ? e.message : `the server answered HTTP ${status}`;
  if (status === 401 || AUTH_CODES.has(code)) {
    return new CliError(EXIT.auth, `Authentication failed (${code}): ${message}. Run "tempoftp login" or check TEMPOFTP_TOKEN.`, code);
  }
  return new CliError(EXIT.refused, `The server refused (${code}): ${message}`, code);
}

export class Api {
  constructor(
    readonly target: Target,
    readonly signal: AbortSignal = new AbortController().signal,
  ) {}

  /** A raw authenticated request (the event stream reads its body itself). */
  async fetch(method: string, route: string, init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    const url = `${this.target.url}/api/v1${route}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.target.token}`, accept: "application/json", ...init.headers };
    if (init.body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), signal: init.signal ?? this.signal });
    } catch (err) {
      if ((init.signal ?? this.signal)?.aborted) throw new Interrupted();
      throw networkError(this.target.url, err);
    }
    if (!res.ok) throw refusal(res.status, await res.json().catch(() => undefined));
    return res;
  }

  async call<T>(method: string, route: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.fetch(method, route, { body, signal });
    try {
      return (await res.json()) as T;
    } catch {
      throw new CliError(EXIT.refused, `${this.target.url} did not answer with JSON: is it a tempoftp server?`);
    }
  }

  me = () => this.call<Me>("GET", "/me");
  listShares = (status: "active" | "all") => this.call<{ shares: Share[] }>("GET", `/shares?status=${status}`);
  share = (id: string) => this.call<Share>("GET", `/shares/${enc(id)}`);
  createShare = (body: { name: string; expiresInSeconds?: number; maxDownloads?: number; requireTls?: boolean; allowedIps?: string[] }) =>
    this.call<Share>("POST", "/shares", body);
  declare = (shareId: string, body: { name: string; size: number; contentType?: string }) => this.call<Declared>("POST", `/shares/${enc(shareId)}/files`, body);
  resumeState = (shareId: string, fileId: string) => this.call<Resume>("GET", `/shares/${enc(shareId)}/files/${enc(fileId)}`);
  removeFile = (shareId: string, fileId: string) => this.call<Share>("DELETE", `/shares/${enc(shareId)}/files/${enc(fileId)}`);
  signParts = (shareId: string, fileId: string, partNumbers: number[]) =>
    this.call<{ urls: Record<string, string> }>("POST", `/shares/${enc(shareId)}/files/${enc(fileId)}/parts`, { partNumbers });
  /** `signal` replaces the CLI's own (Ctrl-C): the records of a stopped run still go out. */
  recordParts = (shareId: string, fileId: string, parts: { partNumber: number; etag: string }[], signal?: AbortSignal) =>
    this.call<{ parts: number }>("PUT", `/shares/${enc(shareId)}/files/${enc(fileId)}/parts`, { parts }, signal);
  complete = (shareId: string, fileId: string, parts?: { partNumber: number; etag: string }[]) =>
    this.call<ShareFile>("POST", `/shares/${enc(shareId)}/files/${enc(fileId)}/complete`, parts ? { parts } : {});
  seal = (shareId: string) => this.call<{ share: Share; credentials: Credentials }>("POST", `/shares/${enc(shareId)}/seal`);
  extend = (shareId: string, expiresInSeconds: number) => this.call<Share>("POST", `/shares/${enc(shareId)}/extend`, { expiresInSeconds });
  revoke = (shareId: string) => this.call<Share>("DELETE", `/shares/${enc(shareId)}`);
}

const enc = encodeURIComponent;
