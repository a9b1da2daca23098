"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { formatExactDuration } from "@/lib/format";
import { ExpiryPicker, useExpiryChoice, type ExpiryPreset } from "../../../_components/expiry-picker";
import { Alert, Button } from "../../../_components/ui";
import { createShareAction } from "../actions";

const inputClass =
  "mt-1 block w-full rounded-md border-0 px-3 py-2 text-slate-900 shadow-sm ring-1 ring-inset placeholder:text-slate-400 focus:outline-none focus:ring-2 focus:ring-inset focus:ring-indigo-600";
const ring = (error?: string) => (error ? "ring-red-400" : "ring-slate-300");

function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <span id={id} data-testid={id} className="mt-1 block text-sm text-red-700">
      {message}
    </span>
  );
}

export function NewShareForm({ presets, defaultSeconds, minSeconds, maxSeconds }: { presets: ExpiryPreset[]; defaultSeconds: number; minSeconds: number; maxSeconds: number }) {
  const router = useRouter();
  const [pending, start] = useTransition();
  const [name, setName] = useState("");
  const expiry = useExpiryChoice(String(presets.some((p) => p.seconds === defaultSeconds) ? defaultSeconds : "custom"), { value: "12", unit: "hours" });
  const [maxDownloads, setMaxDownloads] = useState("");
  const [requireTls, setRequireTls] = useState(false);
  const [allowedIps, setAllowedIps] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);

  function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const local: Record<string, string> = {};
    const expiresInSeconds = expiry.seconds;
    if (Number.isNaN(expiresInSeconds)) local.expiresInSeconds = "Enter how long the share should last";
    let downloads: number | null = null;
    if (maxDownloads.trim() !== "") {
      downloads = Number(maxDownloads);
      if (!Number.isInteger(downloads)) local.maxDownloads = "Enter a whole number of downloads, or leave it empty for no limit";
    }
    if (Object.keys(local).length) {
      setErrors(local);
      setFormError(null);
      return;
    }
    const input = {
      name,
      expiresInSeconds,
      maxDownloads: downloads,
      requireTls,
      allowedIps: allowedIps.split(/[\s,;]+/).filter(Boolean),
    };
    start(async () => {
      const res = await createShareAction(input);
      if (res.ok) {
        router.push(`/shares/${res.data.id}`);
        return;
      }
      setErrors(res.fieldErrors ?? {});
      setFormError(res.fieldErrors ? "Fix the fields marked below." : res.error);
    });
  }

  const labelClass = "font-medium text-slate-700";
  return (
    <form onSubmit={onSubmit} className="space-y-6" noValidate>
      {formError && <Alert>{formError}</Alert>}

      <label className="block text-sm">
        <span className={labelClass}>Name</span>
        <input
          name="name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. Firmware 4.2 for ACME"
          maxLength={200}
          aria-invalid={Boolean(errors.name)}
          aria-describedby="error-name"
          className={`${inputClass} ${ring(errors.name)}`}
          autoFocus
        />
        <FieldError id="error-name" message={errors.name} />
      </label>

      <fieldset className="text-sm">
        <legend className={labelClass}>Expires after</legend>
        <ExpiryPicker name="expiry" presets={presets} state={expiry} customLabel="Custom expiry" invalid={Boolean(errors.expiresInSeconds)} />
        <FieldError id="error-expiresInSeconds" message={errors.expiresInSeconds} />
        <p className="mt-1 text-xs text-slate-500">
          Between {formatExactDuration(minSeconds)} and {formatExactDuration(maxSeconds)}. Every file and credential of the share is destroyed when it
          expires.
        </p>
      </fieldset>

      <div className="grid gap-6 sm:grid-cols-2">
        <label className="block text-sm">
          <span className={labelClass}>Download limit (optional)</span>
          <input
            type="number"
            min={1}
            step={1}
            name="maxDownloads"
            value={maxDownloads}
            onChange={(e) => setMaxDownloads(e.target.value)}
            placeholder="unlimited"
            aria-invalid={Boolean(errors.maxDownloads)}
            className={`${inputClass} ${ring(errors.maxDownloads)}`}
          />
          <FieldError id="error-maxDownloads" message={errors.maxDownloads} />
          <span className="mt-1 block text-xs text-slate-500">The share ends once its files were downloaded this many times.</span>
        </label>
        <div className="text-sm">
          <span className={labelClass}>Transport security</span>
          <label className="mt-2 flex cursor-pointer items-start gap-2">
            <input
              type="checkbox"
              name="requireTls"
              checked={requireTls}
              onChange={(e) => setRequireTls(e.target.checked)}
              className="mt-0.5 h-4 w-4 rounded border-slate-300 accent-indigo-600"
            />
            <span>
              Require FTPS
              <span className="block text-xs text-slate-500">Refuse plain FTP logins: the recipient must use TLS.</span>
            </span>
          </label>
        </div>
      </div>

      <label className="block text-sm">
        <span className={labelClass}>Allowed client IP ranges (optional)</span>
        <textarea
          name="allowedIps"
          rows={3}
          value={allowedIps}
          onChange={(e) => setAllowedIps(e.target.value)}
          placeholder={"203.0.113.0/24\n2001:db8::/32"}
          aria-invalid={Boolean(errors.allowedIps)}
          className={`${inputClass} ${ring(errors.allowedIps)} font-mono`}
        />
        <FieldError id="error-allowedIps" message={errors.allowedIps} />
        <span className="mt-1 block text-xs text-slate-500">
          One address or CIDR range per line (or separated by commas). Empty means any address may log in.
        </span>
      </label>

      <div className="flex items-center justify-end gap-3 border-t border-slate-100 pt-5">
        <Button type="button" variant="secondary" onClick={() => router.push("/")}>
          Cancel
        </Button>
        <Button type="submit" disabled={pending}>
          {pending ? "Creating…" : "Create share"}
        </Button>
      </div>
    </form>
  );
}
