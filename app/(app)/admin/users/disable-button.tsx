"use client";

import { useState, useTransition } from "react";
import { Button } from "../../../_components/ui";
import { setDisabledAction } from "./actions";

export function DisableButton({ userId, email, disabled }: { userId: string; email: string; disabled: boolean }) {
  const [pending, start] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const onClick = () => {
    if (!disabled && !window.confirm(`Disable ${email}? They are signed out and their API tokens stop working.`)) return;
    start(async () => {
      const res = await setDisabledAction(userId, !disabled);
      setError(res.ok ? null : res.error);
    });
  };
  return (
    <span className="inline-flex items-center gap-2">
      {error && <span className="text-xs text-red-700">{error}</span>}
      <Button variant={disabled ? "secondary" : "danger"} onClick={onClick} disabled={pending}>
        {disabled ? "Enable" : "Disable"}
      </Button>
    </span>
  );
}
