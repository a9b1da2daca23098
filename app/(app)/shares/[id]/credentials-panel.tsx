"use client";

import { formatRelative } from "@/lib/format";
import { curlCommand, CURL_MAX_FILES, ftpUrl, lftpCommand, mirrorDirFor } from "@/lib/shares/ftp-commands";
import type { LiveShare } from "@/lib/shares/live-view";
import { CopyButton } from "../../../_components/copy-button";
import { RecipientLink } from "../../../_components/recipient-link";

// FTP access for the recipient. The password exists in this page's memory only, from the seal's response until
// the page is left or reloaded: after that the panel shows the user name, host, port and URL, never the password.

export type IssuedCredentials = { host: string; port: number; username: string; password: string };

function Field({ label, value, testId, secret = false, wide = false }: { label: string; value: string; testId: string; secret?: boolean; wide?: boolean }) {
  return (
    <div className={`min-w-0 ${wide ? "sm:col-span-3" : ""}`}>
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className="mt-1 flex items-center gap-2">
        <code
          data-testid={testId}
          className={`min-w-0 break-all rounded px-1.5 py-0.5 font-mono text-sm ${secret ? "bg-amber-50 text-amber-900 ring-1 ring-inset ring-amber-200" : "bg-slate-100 text-slate-900"}`}
        >
          {value}
        </code>
        <CopyButton value={value} />
      </dd>
    </div>
  );
}

function Command({ label, value, testId, hint }: { label: string; value: string; testId: string; hint?: React.ReactNode }) {
  return (
    <div>
      <div className="flex items-center justify-between gap-2">
        <span className="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</span>
        <CopyButton value={value} label="Copy command" />
      </div>
      <pre className="mt-1 overflow-x-auto whitespace-pre-wrap break-all rounded-md bg-slate-900 px-3 py-2 font-mono text-xs leading-relaxed text-slate-100">
        <code data-testid={testId}>{value}</code>
      </pre>
      {hint && <p className="mt-1 text-xs text-slate-500">{hint}</p>}
    </div>
  );
}

export function CredentialsPanel({ share, issued, now, publicUrl }: { share: LiveShare; issued: IssuedCredentials | null; now: number; publicUrl: string }) {
  const ftp = share.ftp ?? (issued ? { host: issued.host, port: issued.port, username: issued.username } : null);
  if (!ftp) return null;
  const ready = share.status === "ready";
  const readyCount = share.files.filter((f) => f.status === "ready").length;
  const access = { ...ftp, password: issued?.username === ftp.username ? issued.password : undefined, requireTls: share.requireTls };
  const names = share.files.map((f) => f.name);

  return (
    <section
      data-testid="credentials-panel"
      data-state={ready ? "ready" : share.status}
      className={`rounded-lg bg-white p-6 shadow-sm ring-1 ${ready ? "ring-emerald-200" : "ring-slate-200"}`}
    >
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <h2 className="text-base font-semibold text-slate-900">FTP access</h2>
        {ready ? (
          <span data-testid="credentials-state" className="inline-flex items-center gap-1.5 rounded-full bg-emerald-50 px-2.5 py-0.5 text-xs font-medium text-emerald-700 ring-1 ring-inset ring-emerald-200">
            <span className="h-1.5 w-1.5 rounded-full bg-emerald-500" aria-hidden />
            ready: logins accepted
          </span>
        ) : (
          <span data-testid="credentials-state" className="inline-flex items-center gap-1.5 rounded-full bg-amber-50 px-2.5 py-0.5 text-xs font-medium text-amber-700 ring-1 ring-inset ring-amber-200">
            <span className="h-1.5 w-1.5 animate-pulse rounded-full bg-amber-500" aria-hidden />
            processing: logins accepted once every file is ready ({readyCount} of {share.files.length})
          </span>
        )}
      </div>

      {access.password !== undefined ? (
        <div role="status" className="mb-4 rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 ring-1 ring-inset ring-amber-200" data-testid="password-once-note">
          <strong className="font-semibold">Copy the password now.</strong> It is stored nowhere but as a one-way hash and will not be shown
          again — not after a reload, not to an admin.
        </div>
      ) : (
        <p className="mb-4 text-sm text-slate-500" data-testid="password-hidden-note">
          The password was shown once, when the share was sealed (or last reset). If it is lost, use Reset password… for new credentials and a
          new recipient link.
        </p>
      )}

      {access.password !== undefined && (
        <div className="mb-4">
          <RecipientLink publicUrl={publicUrl} shareName={share.name} expiresAt={share.expiresAt} username={ftp.username} password={access.password} />
        </div>
      )}

      <dl className="grid gap-4 sm:grid-cols-3">
        <Field label="Host" value={ftp.host} testId="ftp-host" />
        <Field label="Port" value={String(ftp.port)} testId="ftp-port" />
        <Field label="User name" value={ftp.username} testId="ftp-username" />
        {access.password !== undefined && <Field label="Password (shown once)" value={access.password} testId="ftp-password" secret wide />}
        <Field label="URL (without the password)" value={ftpUrl(ftp)} testId="ftp-url" wide />
      </dl>

      {access.password !== undefined && (
        <div className="mt-5 space-y-4">
          <Command
            label="curl"
            value={curlCommand(access, names)}
            testId="ftp-curl-command"
            hint={
              <>
                Downloads {names.length > CURL_MAX_FILES ? `the first ${CURL_MAX_FILES} files` : names.length === 1 ? "the file" : "every file"} into
                the current folder. <code className="font-mono">-C -</code> resumes: run the same command again after an interruption.
                {share.requireTls && " FTPS is required (--ssl-reqd); -k accepts the server's self-signed certificate."}
              </>
            }
          />
          <Command
            label="lftp (mirror the whole share)"
            value={lftpCommand(access, mirrorDirFor(share.name))}
            testId="ftp-lftp-command"
            hint={<>Copies every file into the folder {mirrorDirFor(share.name)}; running it again continues and skips finished files.</>}
          />
        </div>
      )}

      {(share.lastLogin || share.lastDownload) && (
        <p className="mt-4 text-xs text-slate-500" data-testid="last-access">
          {share.lastDownload
            ? `Last download: ${share.lastDownload.name} ${formatRelative(new Date(share.lastDownload.at), new Date(now))}${share.lastDownload.ip ? ` from ${share.lastDownload.ip}` : ""}`
            : share.lastLogin
              ? `Last login ${formatRelative(new Date(share.lastLogin.at), new Date(now))}${share.lastLogin.ip ? ` from ${share.lastLogin.ip}` : ""}${share.lastLogin.secure ? " (FTPS)" : ""}`
              : null}
        </p>
      )}
    </section>
  );
}
