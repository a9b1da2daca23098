import { recipientEvents } from "@/lib/recipients/events";
import { recipientRoute } from "@/lib/recipients/route";

export const dynamic = "force-dynamic";

// The recipient page's EventSource: the share's events while its cookie holds.
export const GET = recipientRoute<{ user: string }>(async ({ req, access }) => recipientEvents(access, req));
