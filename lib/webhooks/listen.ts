import crypto from "node:crypto";
import type { EventType } from "../events/contract";
import { onEmit } from "../events/emit";
import { log } from "../log";
import { enqueue } from "../queues";
import type { WebhookEventType } from "./schemas";

// Feeds webhooks from the event contract: every process that emits (web, worker, FTP gateway) calls
// listenForWebhooks() once. The listener only queues a fan-out job and never waits for it, so an emitting action
// is neither slowed nor failed by webhooks; the worker finds the endpoints and builds the payloads.

/** Contract events that are webhook events, under their webhook names. */
const WEBHOOK_NAME: Partial<Record<EventType, WebhookEventType>> = {
  "share.ready": "share.ready",
  "share.download": "share.downloaded",
  "share.expired": "share.expired",
  "share.revoked": "share.revoked",
  "share.failed": "share.failed",
  "share.destroyed": "share.destroyed",
};

let stop: (() => void) | undefined;

export function listenForWebhooks(): void {
  stop ??= onEmit((e) => {
    const type = WEBHOOK_NAME[e.type];
    if (!type || !e.shareId) return;
    enqueue("dispatch-webhooks", {
      eventId: crypto.randomUUID(),
      type,
      shareId: e.shareId,
      at: e.at.toISOString(),
      payload: e.payload as Record<string, unknown>,
    }).catch((err: unknown) => log.error({ err, type, shareId: e.shareId }, "could not queue a webhook event"));
  });
}

export function stopListeningForWebhooks(): void {
  stop?.();
  stop = undefined;
}
