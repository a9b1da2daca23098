import type { ButtonHTMLAttributes } from "react";

/** A compact button for actions inside a list row. */
export function SmallButton({ children, tone = "default", ...props }: ButtonHTMLAttributes<HTMLButtonElement> & { tone?: "default" | "danger" | "primary" }) {
  const styles = {
    default: "text-slate-700 ring-slate-300 hover:bg-slate-50",
    danger: "text-red-700 ring-red-200 hover:bg-red-50",
    primary: "text-indigo-700 ring-indigo-200 hover:bg-indigo-50",
  }[tone];
  return (
    <button
      type="button"
      className={`rounded-md bg-white px-2 py-1 text-xs font-semibold ring-1 ring-inset disabled:cursor-not-allowed disabled:opacity-50 ${styles}`}
      {...props}
    >
      {children}
    </button>
  );
}
