import type { ReactNode, TableHTMLAttributes } from "react";

// One table markup for every list page: full width, small text, a muted head and ruled rows.

type TableProps = TableHTMLAttributes<HTMLTableElement> & {
  /** The head row's cells (`<th>`s). */
  head: ReactNode;
  /** "caps": small uppercase column names (admin tables); "plain": as written. */
  headStyle?: "caps" | "plain";
  headClassName?: string;
  headRowClassName?: string;
};

export function Table({ head, headStyle = "caps", headClassName = "", headRowClassName, className = "", children, ...props }: TableProps) {
  const headStyles = headStyle === "caps" ? "text-xs uppercase tracking-wide text-slate-500" : "text-slate-500";
  return (
    <table className={`w-full text-left text-sm ${className}`.trim()} {...props}>
      <thead className={`${headClassName} ${headStyles}`.trim()}>
        <tr className={headRowClassName}>{head}</tr>
      </thead>
      <tbody className="divide-y divide-slate-100">{children}</tbody>
    </table>
  );
}
