import { recipientChecksums } from "@/lib/recipients/view";
import { recipientRoute } from "@/lib/recipients/route";

export const dynamic = "force-dynamic";

// The share's SHA256SUMS, the same file as in its FTP root (fetching it is not a download of the share).
export const GET = recipientRoute<{ user: string }>(async ({ access }) => recipientChecksums(access));
