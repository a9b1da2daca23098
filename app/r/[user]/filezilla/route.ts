import { recipientSiteFile } from "@/lib/recipients/view";
import { recipientRoute } from "@/lib/recipients/route";

export const dynamic = "force-dynamic";

// FileZilla's site-manager file for this share (no password in it: FileZilla asks).
export const GET = recipientRoute<{ user: string }>(async ({ access }) => recipientSiteFile(access));
