"use client";

import { useState } from "react";
import { Alert } from "../../../../_components/ui";
import { ShareActions, type ActionTarget, type ExpiryLimits } from "../share-actions";

/** Extend and Revoke on the admin's share page, with the outcome shown beside them. */
export function ActionsBar({ share, limits, extendable = true }: { share: ActionTarget; limits: ExpiryLimits; extendable?: boolean }) {
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <div className="flex flex-col items-end gap-2">
      <ShareActions share={share} limits={limits} onDone={setNotice} extendable={extendable} />
      {notice && <Alert kind="success">{notice}</Alert>}
    </div>
  );
}
