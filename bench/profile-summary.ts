// `npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]`: a V8 CPU profile's functions by self time (and
// by total time, the function and everything it called), as a short table. bench/ftp.ts --profile prints it.
import fs from "node:fs";
import path from "node:path";

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] };
type Profile = { nodes: Node[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] };

export type ProfileRow = { name: string; selfMs: number; selfPct: number; totalMs: number; totalPct: number };

/** Self and total time per function (name + file + line), summed over the profile's samples. */
export function summarizeProfile(profile: Profile, top = 25): { totalMs: number; rows: ProfileRow[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Time per node from the samples and their deltas (hitCount alone ignores uneven sampling).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  const key = (n: Node) => {
    const f = n.callFrame;
    const file = f.url ? `${path.basename(f.url.replace(/^file:\/\//, ""))}:${f.lineNumber + 1}` : "";
    return `${f.functionName || "(anonymous)"}${file ? ` ${file}` : ""}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (const [id, us] of selfUs) {
    all += us;
    const node = byId.get(id)!;
    self.set(key(node), (self.get(key(node)) ?? 0) + us);
    // Total: once per distinct function on the sample's stack (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + us);
    }
  }
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({
      name,
      selfMs: us / 1000,
      selfPct: (100 * us) / (all || 1),
      totalMs: (total.get(name) ?? 0) / 1000,
      totalPct: (100 * (total.get(name) ?? 0)) / (all || 1),
    }));
  return { totalMs: all / 1000, rows };
}

export function formatSummary(file: string, top = 25): string {
  const { totalMs, rows } = summarizeProfile(JSON.parse(fs.readFileSync(file, "utf8")) as Profile, top);
  const lines = [`${path.basename(file)}: ${(totalMs / 1000).toFixed(1)} s sampled; top ${rows.length} functions by self time`, "", "| self ms | self % | total % | function |", "|---:|---:|---:|---|"];
  for (const r of rows) lines.push(`| ${r.selfMs.toFixed(0)} | ${r.selfPct.toFixed(1)} | ${r.totalPct.toFixed(1)} | ${r.name.replaceAll("|", "\\|")} |`);
  return lines.join("\n");
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 25]");
    process.exit(2);
  }
  const i = process.argv.indexOf("--top");
  console.log(formatSummary(file, i > 0 ? Number(process.argv[i + 1]) : 25));
}
