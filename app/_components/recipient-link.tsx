"use client";

import { recipientLink, recipientMailto } from "@/lib/recipients/instructions";
import { CopyButton } from "./copy-button";

// The link a recipient needs (the password only in its #fragment), to copy or to send as an email draft.

export function RecipientLink({ publicUrl, shareName, expiresAt, username, password }: { publicUrl: string; shareName: string; expiresAt: string; username: string; password: string }) {
  const link = recipientLink(publicUrl, username, password);
  return (
    <div className="rounded-md bg-indigo-50/60 p-3 ring-1 ring-inset ring-indigo-200" data-testid="recipient-link-box">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <span className="text-xs font-medium uppercase tracking-wide text-slate-600">Recipient link (shown once: it carries the password)</span>
        <span className="flex items-center gap-2">
          <CopyButton value={link} label="Copy link" />
          <a
            data-testid="recipient-mailto"
            href={recipientMailto(link, shareName, new Date(expiresAt))}
            className="rounded px-2 py-0.5 text-xs font-medium text-indigo-700 ring-1 ring-indigo-200 hover:bg-indigo-50"
          >
            Email draft
          </a>
        </span>
      </div>
      <code data-testid="recipient-link" className="mt-2 block break-all font-mono text-sm text-slate-900">
        {link}
      </code>
      <p className="mt-1 text-xs text-slate-500">
        The recipient opens it in a browser: no account, files in the browser or instructions for any FTP client. The password after # never
        reaches a server log.
      </p>
    </div>
  );
}
