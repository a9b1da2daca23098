// Loaded with `NODE_OPTIONS=--import <this file>` (Node refuses --cpu-prof there): the web process profiles itself
// from start to exit and writes a .cpuprofile into CPU_PROFILE_DIR, what `node --cpu-prof` would have written.
// Every other process of the stack (launcher, worker, gateway) is left alone.
import fs from "node:fs";
import inspector from "node:inspector";
import path from "node:path";

const dir = process.env.CPU_PROFILE_DIR;
if (dir && process.env.TEMPOFTP_PROCESS === "web") {
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  let written = false;
  // A session on the main thread answers synchronously, so this writes before the process goes. On SIGTERM too:
  // the launcher may kill a process that takes its time to exit, and then no `exit` event comes.
  const write = () => {
    if (written) return;
    written = true;
    session.post("Profiler.stop", (err, res) => {
      if (err) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `web-${process.pid}.cpuprofile`), JSON.stringify(res.profile));
    });
  };
  process.prependListener("SIGTERM", write);
  process.on("exit", write);
}
