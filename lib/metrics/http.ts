import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { metrics } from "./registry";

// HTTP metrics by route template (`/api/v1/shares/[id]`), never by raw path: the label set is the app's route
// files plus a few fixed names, however many shares or odd URLs there are.

type Route = { template: string; pattern: RegExp; dynamic: number };

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Route templates from the app directory's page.tsx and route.ts files (route groups like `(app)` dropped). */
export function routeTemplates(appDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, segments: string[]) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (e.name.startsWith("_") || e.name.startsWith("@")) continue;
        walk(path.join(dir, e.name), /^\(.*\)$/.test(e.name) ? segments : [...segments, e.name]);
      } else if (/^(page|route)\.(tsx?|jsx?)$/.test(e.name)) {
        out.push("/" + segments.join("/"));
      }
    }
  };
  walk(appDir, []);
  return [...new Set(out)].sort();
}

function compile(template: string): Route {
  let dynamic = 0;
  const body = template
    .split("/")
    .filter(Boolean)
    .map((seg) => {
      if (/^\[\[?\.\.\./.test(seg)) return (dynamic += 100), "(?:/.*)?";
      if (/^\[.+\]$/.test(seg)) return (dynamic += 1), "/[^/]+";
      return "/" + seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return { template, pattern: new RegExp(`^${body || "/"}/?$`), dynamic };
}

/** pathname → its route template; `/_next/*` and unknown paths fall into fixed buckets. */
export function routeMatcher(templates: string[]): (pathname: string) => string {
  // Static routes win over dynamic ones, and [id] over catch-alls: the order Next.js itself resolves them in.
  const routes = templates.map(compile).sort((a, b) => a.dynamic - b.dynamic);
  return (pathname) => {
    if (pathname.startsWith("/_next/")) return "/_next";
    return routes.find((r) => r.pattern.test(pathname))?.template ?? "unmatched";
  };
}

/** Counts one request when its response ends; event streams are counted but not timed (they last for hours). */
export function observeHttp(req: IncomingMessage, res: ServerResponse, routeOf: (pathname: string) => string): void {
  const start = process.hrtime.bigint();
  res.once("close", () => {
    const route = routeOf((req.url ?? "/").split("?")[0]!);
    const method = METHODS.has(req.method ?? "") ? req.method! : "OTHER";
    const m = metrics();
    m.httpRequests.inc({ route, method, status: `${Math.floor(res.statusCode / 100)}xx` });
    if (String(res.getHeader("content-type") ?? "").startsWith("text/event-stream")) return;
    m.httpDuration.observe({ route, method }, Number(process.hrtime.bigint() - start) / 1e9);
  });
}
