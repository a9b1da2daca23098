import { formatBytes } from "@/lib/format";
import { formatTimeLeft, type UploadTotals } from "../../../_lib/uploader/upload-totals";
import { percent } from "../../../_lib/uploader/upload-row";
import { ProgressBar } from "../../../_components/progress-bar";

/** The overall progress of the files added together, while any of them moves. */
export function UploadSummary({ totals }: { totals: UploadTotals }) {
  return (
    <div className="rounded-md bg-indigo-50/60 px-4 py-3 ring-1 ring-inset ring-indigo-100" data-testid="overall-progress">
      <div className="mb-2 flex flex-wrap justify-between gap-2 text-sm">
        <span className="font-medium text-slate-900">
          Uploading {totals.activeCount} of {totals.count} file{totals.count === 1 ? "" : "s"}
        </span>
        <span className="text-slate-600 tabular-nums">
          {formatBytes(totals.done)} of {formatBytes(totals.total)}
          {totals.speed > 0 && ` · ${formatBytes(totals.speed)}/s · ${formatTimeLeft((totals.total - totals.done) / totals.speed)} left`}
        </span>
      </div>
      <ProgressBar value={percent(totals.done, totals.total)} />
    </div>
  );
}
