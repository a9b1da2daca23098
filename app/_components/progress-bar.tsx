export function ProgressBar({ value, tone = "indigo", testId }: { value: number; tone?: "indigo" | "red" | "slate"; testId?: string }) {
  const color = { indigo: "bg-indigo-600", red: "bg-red-500", slate: "bg-slate-400" }[tone];
  return (
    <div
      className="h-1.5 w-full overflow-hidden rounded-full bg-slate-100"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value}
      data-testid={testId}
    >
      <div className={`h-full rounded-full transition-[width] duration-300 ${color}`} style={{ width: `${value}%` }} />
    </div>
  );
}
