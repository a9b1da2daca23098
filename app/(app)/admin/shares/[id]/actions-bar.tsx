"use client";

import { useState } from "react";
import { Alert } from "../../../../_components/ui";
import { ShareActions, type ActionTarget, type ExpiryLimits } from "../share-actions";

/** Extend and Revoke on the admin's share page, with the outcome shown beside them. */
export function ActionsBar({ share, limits }: { share: ActionTarget; limits: ExpiryLimits }) {
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <div className="flex flex-col items-end gap-2">
      <ShareActions share={share} limits={limits} onDone={setNotice} />
      {notice && <Alert kind="success">{notice}</Alert>}
    </div>
  );
}
