"use client";

import { useRouter } from "next/navigation";
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { ShareUploader, type UploadServer } from "../../../_lib/uploader/share-uploader";
import { browserUnfinishedNotes } from "../../../_lib/uploader/unfinished-uploads";
import { uploadsBusy, uploadTotals } from "../../../_lib/uploader/upload-totals";
import { completeFileAction, declareFileAction, recordPartAction, removeFileAction, resumeStateAction, signPartsAction } from "../actions";
import type { ServerFile } from "./file-row";

/** The server actions of one share, as the upload engine calls them. */
function serverFor(shareId: string): UploadServer {
  return {
    declare: (input) => declareFileAction(shareId, input),
    resumeState: (fileId) => resumeStateAction(shareId, fileId),
    signParts: (fileId, partNumbers) => signPartsAction(shareId, fileId, partNumbers),
    recordPart: (fileId, partNumber, etag) => recordPartAction(shareId, fileId, partNumber, etag),
    complete: (fileId, parts) => completeFileAction(shareId, fileId, parts),
    remove: (fileId) => removeFileAction(shareId, fileId),
  };
}

/** The share page's upload engine, bound to React: its snapshot, the connection state, and its actions. */
export function useShareUploader({
  shareId,
  acceptsFiles,
  files,
  onBusyChange,
}: {
  shareId: string;
  acceptsFiles: boolean;
  files: ServerFile[];
  onBusyChange?: (busy: boolean) => void;
}) {
  const router = useRouter();
  const refresh = useRef(() => router.refresh());
  refresh.current = () => router.refresh();
  const uploader = useMemo(
    () => new ShareUploader({ shareId, server: serverFor(shareId), notes: browserUnfinishedNotes(), onServerChanged: () => refresh.current() }),
    [shareId],
  );
  const snapshot = useSyncExternalStore(uploader.subscribe, uploader.getSnapshot, uploader.getSnapshot);
  const [offline, setOffline] = useState(false);

  useEffect(() => {
    if (!acceptsFiles) return;
    uploader.start();
    return () => uploader.stop();
  }, [uploader, acceptsFiles]);

  // Unfinished uploads from an earlier visit, looked up again whenever the server's list of files changes.
  const serverIds = useMemo(() => files.map((f) => `${f.id}:${f.status}`).join(","), [files]);
  useEffect(() => {
    if (!acceptsFiles) return;
    const aborted = new AbortController();
    uploader.checkUnfinished(files, aborted.signal).catch(() => undefined);
    return () => aborted.abort();
  }, [uploader, acceptsFiles, serverIds]); // `files` itself changes identity on every refresh

  useEffect(() => {
    const update = () => setOffline(!navigator.onLine);
    update();
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);

  // Leaving while bytes are moving asks first (the upload can still be continued afterwards).
  useEffect(() => {
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (!uploader.hasActiveUploads()) return;
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [uploader]);

  const busy = uploadsBusy(snapshot.rows);
  const busyReported = useRef<boolean | null>(null);
  useEffect(() => {
    if (busyReported.current === busy) return;
    busyReported.current = busy;
    onBusyChange?.(busy);
  });

  return { uploader, snapshot, offline, totals: uploadTotals(snapshot.rows, snapshot.batch, snapshot.at, offline) };
}
