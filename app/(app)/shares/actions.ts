"use server";

import { createShareSchema } from "@/lib/shares/schemas";
import { completeFileSchema, declareFileSchema, recordPartSchema, recordPartsSchema, signPartsSchema } from "@/lib/uploads/schemas";
import { createShare } from "@/lib/shares/shares";
import type { FileView } from "@/lib/shares/shares";
import { completeFile, declareFile, recordPart, recordParts, removeFile, resumeState, signParts, type DeclaredFile, type ResumeState } from "@/lib/uploads/uploads";
import { requireUser } from "../../_lib/auth-session";
import { requestIp } from "../../_lib/request-ip";
import type { ActionResult } from "../../_lib/action-result";
import { runAction } from "../../_lib/run-action";

// Thin calls into lib/: each checks the session, parses the browser's input with the body's one schema (as the REST
// wrapper does), then calls the function that decides. The share page's upload engine (app/_lib/uploader/) drives the
// upload ones; file bytes never come through here.

export async function createShareAction(input: unknown): Promise<ActionResult<{ id: string }>> {
  const user = await requireUser();
  const ip = await requestIp();
  return runAction(async () => ({ id: (await createShare(user, createShareSchema.parse(input), ip)).id }));
}

export async function declareFileAction(shareId: string, input: unknown): Promise<ActionResult<DeclaredFile>> {
  const user = await requireUser();
  const ip = await requestIp();
  return runAction(() => declareFile(user, String(shareId), declareFileSchema.parse(input), ip));
}

export async function signPartsAction(shareId: string, fileId: string, partNumbers: unknown): Promise<ActionResult<{ urls: Record<string, string> }>> {
  const user = await requireUser();
  return runAction(() => signParts(user, String(shareId), String(fileId), signPartsSchema.parse({ partNumbers })));
}

export async function recordPartAction(shareId: string, fileId: string, partNumber: unknown, etag: unknown): Promise<ActionResult<{ parts: number }>> {
  const user = await requireUser();
  return runAction(() => recordPart(user, String(shareId), String(fileId), recordPartSchema.parse({ partNumber, etag })));
}

/** Finished parts in one call: the page records them in batches, every few seconds, not one call a part. */
export async function recordPartsAction(shareId: string, fileId: string, parts: unknown): Promise<ActionResult<{ parts: number }>> {
  const user = await requireUser();
  return runAction(() => recordParts(user, String(shareId), String(fileId), recordPartsSchema.parse({ parts })));
}

export async function resumeStateAction(shareId: string, fileId: string): Promise<ActionResult<ResumeState>> {
  const user = await requireUser();
  return runAction(() => resumeState(user, String(shareId), String(fileId)));
}

export async function completeFileAction(shareId: string, fileId: string, parts?: unknown): Promise<ActionResult<FileView>> {
  const user = await requireUser();
  const ip = await requestIp();
  return runAction(() => completeFile(user, String(shareId), String(fileId), completeFileSchema.parse(parts === undefined ? {} : { parts }), ip));
}

export async function removeFileAction(shareId: string, fileId: string): Promise<ActionResult> {
  const user = await requireUser();
  const ip = await requestIp();
  return runAction(() => removeFile(user, String(shareId), String(fileId), ip));
}
