import type { Api, Share } from "./api";
import { CliError, EXIT } from "./errors";
import { followShareEvents } from "./events";
import type { Reporter } from "./progress";

// Following a share until it is ready: its event stream drives a spinner, the share itself says when it is done.

const ENDED = new Set(["failed", "expired", "revoked"]);

export async function waitUntilReady(api: Api, shareId: string, signal: AbortSignal, reporter: Reporter): Promise<Share> {
  let share: Share | undefined;
  const processed = new Map<string, number>();
  const report = (s: Share) => {
    const ready = s.files.filter((f) => f.status === "ready");
    const bytes = s.files.reduce((sum, f) => sum + (f.status === "ready" ? f.size : Math.min(processed.get(f.id) ?? 0, f.size)), 0);
    reporter.processing(ready.length, s.files.length, bytes, s.totalBytes);
  };
  const settle = async () => {
    share = await api.share(shareId);
    if (share.status === "ready") return true;
    if (ENDED.has(share.status)) {
      const why = share.failureReason ?? share.files.find((f) => f.failureReason)?.failureReason;
      throw new CliError(EXIT.refused, `Share ${shareId} is ${share.status}${why ? `: ${why}` : ""}`, `share_${share.status}`);
    }
    report(share);
    return false;
  };
  await followShareEvents(
    api,
    shareId,
    signal,
    async (e) => {
      if (e.type === "file.progress") {
        processed.set(e.fileId, e.bytes);
        if (share) report(share);
        return false;
      }
      if (e.type === "file.upload-progress" || e.type === "share.login" || e.type === "share.download") return false;
      return settle();
    },
    settle,
  );
  return share!;
}
