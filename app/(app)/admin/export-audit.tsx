// "Export audit (CSV/JSON)": plain download links to the streamed export (the session route of GET /api/v1/audit).
export function ExportAudit({ shareId }: { shareId?: string }) {
  const href = (format: "csv" | "json") => `/api/audit?${new URLSearchParams({ ...(shareId ? { shareId } : {}), format })}`;
  const link = "rounded-md border border-slate-300 bg-white px-2.5 py-1 text-xs font-medium text-slate-700 shadow-sm hover:bg-slate-50";
  return (
    <div className="flex items-center gap-2 text-sm text-slate-500" data-testid="export-audit">
      <span>Export audit</span>
      <a className={link} href={href("csv")} download data-testid="export-audit-csv">
        CSV
      </a>
      <a className={link} href={href("json")} download data-testid="export-audit-json">
        JSON
      </a>
    </div>
  );
}
