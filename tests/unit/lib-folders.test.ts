import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// lib/ is layered by folder: a folder may use another only if that one does not (directly or through others) use
// it back. Built from the import specifiers of every .ts file, so a new circle fails here before it spreads.

const LIB = path.resolve(import.meta.dirname, "../../lib");
const SPECIFIER = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\sfrom\s+)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "generated" ? [] : tsFiles(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

/** The lib/ folder a file belongs to ("." for files directly under lib/). */
const folderOf = (file: string) => {
  const rel = path.relative(LIB, file);
  return rel.includes(path.sep) ? rel.split(path.sep)[0]! : ".";
};

/** Folder → folders it imports from, with one file and specifier per edge to name in a failure. */
function folderGraph(): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of tsFiles(LIB)) {
    const from = folderOf(file);
    for (const m of fs.readFileSync(file, "utf8").matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2]!;
      const target = spec.startsWith("@/lib/") ? path.join(LIB, spec.slice(6)) : spec.startsWith(".") ? path.resolve(path.dirname(file), spec) : null;
      if (!target || path.relative(LIB, target).startsWith("..")) continue;
      const to = folderOf(target.endsWith(".ts") ? target : `${target}.ts`);
      if (to === from || to === "generated") continue;
      if (!graph.has(from)) graph.set(from, new Map());
      if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, `${path.relative(LIB, file)} → ${spec}`);
    }
  }
  return graph;
}

/** Every cycle's folders, found by depth-first search (each reported once, from its smallest folder name). */
function folderCycles(graph: Map<string, Map<string, string>>): string[][] {
  const cycles = new Map<string, string[]>();
  const walk = (start: string, node: string, trail: string[]) => {
    for (const next of graph.get(node)?.keys() ?? []) {
      if (next === start) {
        const min = trail.indexOf([...trail].sort()[0]!);
        const cycle = [...trail.slice(min), ...trail.slice(0, min)];
        cycles.set(cycle.join(">"), cycle);
      } else if (!trail.includes(next)) walk(start, next, [...trail, next]);
    }
  };
  for (const start of graph.keys()) walk(start, start, [start]);
  return [...cycles.values()];
}

describe("lib/ folders", () => {
  it("import each other without a circle", () => {
    const graph = folderGraph();
    const described = folderCycles(graph).map((c) => c.map((f, i) => `${f} (${graph.get(f)!.get(c[(i + 1) % c.length]!)})`).join(" → "));
    expect(described).toEqual([]);
  });

  it("finds the edges it checks (a parser that saw nothing would pass anything)", () => {
    const graph = folderGraph();
    expect(graph.get("shares")?.has("events")).toBe(true);
    expect(graph.get("uploads")?.has("shares")).toBe(true);
    expect(folderCycles(new Map([["a", new Map([["b", "x"]])], ["b", new Map([["c", "y"]])], ["c", new Map([["a", "z"]])]]))).toEqual([["a", "b", "c"]]);
  });
});
