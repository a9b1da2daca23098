"use client";

import { useState } from "react";
import { curlCommand, lftpCommand, mirrorDirFor } from "@/lib/shares/ftp-commands";
import { winScpUrl } from "@/lib/recipients/instructions";
import type { RecipientView } from "@/lib/recipients/view";
import { CopyButton } from "../../_components/copy-button";

// How to get the files with each kind of client, written for someone who has never used FTP, and for their IT
// department. FTPS (encrypted) is offered everywhere: the gateway always has a certificate.

function Block({ title, id, children }: { title: string; id: string; children: React.ReactNode }) {
  return (
    <section className="rounded-lg bg-white p-5 shadow-sm ring-1 ring-slate-200" data-testid={`howto-${id}`}>
      <h3 className="text-base font-semibold text-slate-900">{title}</h3>
      <div className="mt-2 space-y-2 text-sm leading-relaxed text-slate-700">{children}</div>
    </section>
  );
}

function Code({ value, testId }: { value: string; testId: string }) {
  return (
    <div className="flex items-start gap-2">
      <pre className="min-w-0 flex-1 overflow-x-auto whitespace-pre-wrap break-all rounded-md bg-slate-900 px-3 py-2 font-mono text-xs text-slate-100">
        <code data-testid={testId}>{value}</code>
      </pre>
      <CopyButton value={value} />
    </div>
  );
}

export function ClientInstructions({ user, view, password }: { user: string; view: RecipientView; password: string | null }) {
  const [shown, setShown] = useState(false);
  const { host, port, username, pasv } = view.ftp;
  const trusted = view.certificate ? !view.certificate.selfSigned : false;
  const access = { host, port, username, requireTls: true, trustedCertificate: trusted };
  const names = view.files.filter((f) => f.ready).map((f) => f.name);
  const fingerprint = view.certificate?.sha256;
  return (
    <div className="space-y-4" data-testid="recipient-instructions">
      <h2 className="text-lg font-semibold text-slate-900">Other ways to download</h2>
      <p className="text-sm text-slate-600">
        The buttons above download in this browser, which works on almost every network. For large files, many files, or an automated
        download, use an FTP program with these details. Always choose <strong>FTP over TLS (explicit)</strong>, also called FTPES: it encrypts
        your password and the files on the way.
      </p>
      <dl className="grid gap-3 rounded-lg bg-white p-5 text-sm shadow-sm ring-1 ring-slate-200 sm:grid-cols-2" data-testid="recipient-ftp-details">
        <div>
          <dt className="text-xs uppercase tracking-wide text-slate-500">Server (host)</dt>
          <dd className="font-mono" data-testid="recipient-ftp-host">{host}</dd>
        </div>
        <div>
          <dt className="text-xs uppercase tracking-wide text-slate-500">Port</dt>
          <dd className="font-mono" data-testid="recipient-ftp-port">{port}</dd>
        </div>
        <div>
          <dt className="text-xs uppercase tracking-wide text-slate-500">User name</dt>
          <dd className="font-mono" data-testid="recipient-ftp-user">{username}</dd>
        </div>
        <div>
          <dt className="text-xs uppercase tracking-wide text-slate-500">Password</dt>
          <dd className="flex items-center gap-2 font-mono">
            {password ? (
              <>
                <span data-testid="recipient-password">{shown ? password : "••••••••••••"}</span>
                <button type="button" className="text-xs font-medium text-indigo-600" onClick={() => setShown((s) => !s)}>
                  {shown ? "Hide" : "Show"}
                </button>
                <CopyButton value={password} />
              </>
            ) : (
              <span className="font-sans text-slate-600">the part of your link after the # sign</span>
            )}
          </dd>
        </div>
      </dl>

      <Block title="FileZilla (Windows, macOS, Linux)" id="filezilla">
        <ol className="list-decimal space-y-1 pl-5">
          <li>
            <a data-testid="filezilla-download" className="font-medium text-indigo-600 underline" href={`/r/${encodeURIComponent(user)}/filezilla`} download>
              Download the FileZilla site file
            </a>{" "}
            (it holds the server, port, user name, FTP over TLS and passive mode; not the password).
          </li>
          <li>In FileZilla: File → Site Manager… → Import…, choose that file, select the new site and press Connect.</li>
          <li>FileZilla asks for the password: paste it (see above). If it shows an “Unknown certificate” window, check the fingerprint below, then trust it.</li>
          <li>Drag the files from the right-hand side (the server) to a folder on the left.</li>
        </ol>
      </Block>

      <Block title="WinSCP (Windows)" id="winscp">
        <p>Paste this session address into WinSCP’s login window (or run <code>winscp.exe</code> with it); WinSCP asks for the password:</p>
        <Code value={winScpUrl({ host, port, username }, true)} testId="winscp-url" />
        <p>Or fill in by hand: File protocol FTP, Encryption “TLS/SSL Explicit encryption”, host name, port and user name as above.</p>
      </Block>

      <Block title="curl (command line)" id="curl">
        <p>Downloads {names.length > 10 ? "the first 10 files" : "the files"} into the current folder and asks for the password; run it again to resume an interrupted download.</p>
        <Code value={curlCommand(access, names)} testId="recipient-curl" />
      </Block>

      <Block title="lftp (command line, Linux and macOS)" id="lftp">
        <p>Copies every file into the folder {mirrorDirFor(view.name)}; run it again to continue.</p>
        <Code value={lftpCommand(access, mirrorDirFor(view.name))} testId="recipient-lftp" />
      </Block>

      <Block title="Is it the right server? (certificate)" id="certificate">
        {fingerprint ? (
          <>
            <p>
              {view.certificate?.selfSigned
                ? "This server uses its own (self-signed) certificate, so your program cannot check it by itself and will ask you. Trust it only if its SHA-256 fingerprint is:"
                : "The server's certificate is signed by a certificate authority; its SHA-256 fingerprint is:"}
            </p>
            <Code value={fingerprint} testId="certificate-fingerprint" />
          </>
        ) : (
          <p>Ask the sender for the server certificate&apos;s SHA-256 fingerprint if your program asks you to trust the certificate.</p>
        )}
        <p>To see the fingerprint yourself (OpenSSL):</p>
        <Code value={`openssl s_client -starttls ftp -connect ${host}:${port} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`} testId="certificate-command" />
      </Block>

      <Block title="When FTP does not connect (company networks)" id="blocked">
        <p>
          Many company networks block FTP. Signs: the program connects and signs in, but the file list or the download hangs, or times out. You
          do not need FTP: <strong>download the files in this browser</strong> with the buttons above (HTTPS, the same way as any website).
        </p>
        <p>If you need an FTP program, ask your IT department to allow outbound TCP connections to {host}:</p>
        <ul className="list-disc pl-5" data-testid="it-ports">
          <li>
            port <strong>{port}</strong> (the control connection)
          </li>
          <li>
            ports <strong>{pasv.from}–{pasv.to}</strong> (passive data connections; the server says which one for each listing and download)
          </li>
          {view.ftp.implicitTlsPort && (
            <li>
              port <strong>{view.ftp.implicitTlsPort}</strong> if your program only speaks implicit FTPS (ftps://)
            </li>
          )}
        </ul>
        <p>
          Because the connection is encrypted (FTPS), a firewall cannot read which data port is negotiated, so “FTP inspection” cannot open it
          automatically: the passive range must be allowed explicitly. Only passive mode is supported (no active/PORT mode, nothing inbound).
        </p>
      </Block>
    </div>
  );
}
