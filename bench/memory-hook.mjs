// Loaded with `NODE_OPTIONS=--import <this file>` (bench/sse.ts --memory): on SIGUSR2 the web process collects its
// garbage and writes what its memory is made of (process.memoryUsage() after a full GC, and V8's heap spaces) to
// MEMORY_STATS_DIR/web-<pid>-<n>.json, so the bench can tell live per-client state from heap growth and native memory.
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";

const dir = process.env.MEMORY_STATS_DIR;
if (dir && process.env.TEMPOFTP_PROCESS === "web") {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc");
  let n = 0;
  process.on("SIGUSR2", () => {
    const before = process.memoryUsage();
    gc();
    gc();
    const after = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `web-${process.pid}-${n++}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ before, after, spaces }));
    fs.renameSync(`${file}.tmp`, file);
  });
}

// The FTP gateway's processes (bench/ftp.ts --concurrent): every second, what the process's memory is made of, no
// GC forced (the garbage is part of what RSS holds): process.memoryUsage() and, from smaps, glibc's main heap and
// the other anonymous mappings (V8's heap, other arenas, thread stacks). One JSON line per sample in
// MEMORY_STATS_DIR/ftp-<pid>.jsonl; the bench prints each process's sample at its highest RSS.
if (dir && process.env.TEMPOFTP_PROCESS === "ftp") {
  const file = path.join(dir, `ftp-${process.pid}.jsonl`);
  fs.mkdirSync(dir, { recursive: true });
  const kib = (text, re) => Number(re.exec(text)?.[1] ?? 0);
  const sample = () => {
    const m = process.memoryUsage();
    let heap = 0;
    let anon = 0;
    try {
      const smaps = fs.readFileSync("/proc/self/smaps", "utf8");
      for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
        const rss = kib(block, /\nRss:\s+(\d+)/);
        if (block.split("\n", 1)[0].endsWith("[heap]")) heap += rss;
        else anon += kib(block, /\nAnonymous:\s+(\d+)/);
      }
    } catch {
      // not Linux
    }
    fs.appendFileSync(file, `${JSON.stringify({ t: Date.now(), ...m, mallocHeap: heap * 1024, otherAnon: anon * 1024 })}\n`);
  };
  setInterval(sample, 1000).unref();
}
