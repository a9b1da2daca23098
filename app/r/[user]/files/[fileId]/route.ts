import { env } from "@/lib/env";
import { recipientDownload } from "@/lib/recipients/download";
import { recipientRoute } from "@/lib/recipients/route";

export const dynamic = "force-dynamic";

// A file of the share over HTTPS (recipient cookie), with Range; counted like an FTP download.
export const GET = recipientRoute<{ user: string; fileId: string }>(async ({ req, params, access }) =>
  recipientDownload(access, params.fileId, req, env.PUBLIC_URL.startsWith("https://")),
);
