"use client";

import { useState } from "react";
import { RecipientLink } from "../../../../_components/recipient-link";
import { ResetPasswordButton } from "../../../../_components/reset-password-button";
import { resetCredentialsAction } from "../actions";

type Issued = { host: string; port: number; username: string; password: string };

/** An admin's way out for a recipient who lost the password: new credentials, the new link shown this once. */
export function AdminResetPassword({ shareId, shareName, expiresAt, publicUrl }: { shareId: string; shareName: string; expiresAt: string; publicUrl: string }) {
  const [issued, setIssued] = useState<Issued | null>(null);
  return (
    <div className="flex flex-col items-end gap-2">
      <ResetPasswordButton reset={() => resetCredentialsAction(shareId)} onReset={setIssued} />
      {issued && (
        <div className="w-full max-w-xl">
          <RecipientLink publicUrl={publicUrl} shareName={shareName} expiresAt={expiresAt} username={issued.username} password={issued.password} />
        </div>
      )}
    </div>
  );
}
