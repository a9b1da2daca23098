import type { FileStatus, ShareStatus } from "@/lib/generated/prisma/enums";

/** A share's or file's status, or the page's own "interrupted" for an upload this tab lost. */
export type BadgeStatus = ShareStatus | FileStatus | "interrupted";

// Share and file statuses, one colour scheme everywhere.
const styles: Record<BadgeStatus, string> = {
  open: "bg-sky-50 text-sky-700 ring-sky-200",
  processing: "bg-amber-50 text-amber-700 ring-amber-200",
  ready: "bg-emerald-50 text-emerald-700 ring-emerald-200",
  expired: "bg-slate-100 text-slate-600 ring-slate-200",
  revoked: "bg-slate-100 text-slate-600 ring-slate-200",
  failed: "bg-red-50 text-red-700 ring-red-200",
  pending: "bg-slate-100 text-slate-600 ring-slate-200",
  uploading: "bg-indigo-50 text-indigo-700 ring-indigo-200",
  uploaded: "bg-teal-50 text-teal-700 ring-teal-200",
  interrupted: "bg-amber-50 text-amber-700 ring-amber-200",
};

export function StatusBadge({ status, className = "" }: { status: BadgeStatus; className?: string }) {
  return (
    <span
      data-testid="status-badge"
      className={`inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${styles[status]} ${className}`}
    >
      {status}
    </span>
  );
}
