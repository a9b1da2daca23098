"use client";

import { useState } from "react";

// How long a share lives (on creation) or lives on (on extension): presets as radio chips, or a custom amount
// in minutes, hours or days. One state hook and one picker for the new-share form and both extend dialogs.

export type ExpiryPreset = { label: string; seconds: number };
export type ExpiryUnit = "minutes" | "hours" | "days";
const UNIT_SECONDS: Record<ExpiryUnit, number> = { minutes: 60, hours: 3600, days: 86_400 };

export type ExpiryChoice = ReturnType<typeof useExpiryChoice>;

/** `seconds` is NaN while a custom amount is empty or not a positive number. */
export function useExpiryChoice(initial: string, custom: { value: string; unit: ExpiryUnit }) {
  const [choice, setChoice] = useState(initial);
  const [customValue, setCustomValue] = useState(custom.value);
  const [customUnit, setCustomUnit] = useState<ExpiryUnit>(custom.unit);
  const amount = Number(customValue);
  const seconds = choice !== "custom" ? Number(choice) : customValue.trim() !== "" && amount > 0 ? Math.round(amount * UNIT_SECONDS[customUnit]) : NaN;
  return { choice, setChoice, customValue, setCustomValue, customUnit, setCustomUnit, seconds };
}

const chip = (on: boolean) =>
  `cursor-pointer rounded-md px-3 py-1.5 ring-1 ring-inset ${on ? "bg-indigo-600 font-semibold text-white ring-indigo-600" : "bg-white text-slate-700 ring-slate-300 hover:bg-slate-50"}`;

export function ExpiryPicker({
  name,
  presets,
  state,
  customLabel,
  groupLabel,
  invalid,
  onChange,
}: {
  name: string;
  presets: ExpiryPreset[];
  state: ExpiryChoice;
  /** The custom amount's accessible name; its unit is "<customLabel> unit". */
  customLabel: string;
  groupLabel?: string;
  invalid?: boolean;
  onChange?: () => void;
}) {
  const changed = <T,>(set: (v: T) => void) => (v: T) => (set(v), onChange?.());
  const options = [...presets.map((p) => ({ value: String(p.seconds), label: p.label })), { value: "custom", label: "Custom" }];
  return (
    <>
      <div className="mt-2 flex flex-wrap gap-2" role="radiogroup" aria-label={groupLabel}>
        {options.map((o) => (
          <label key={o.value} className={chip(state.choice === o.value)}>
            <input type="radio" name={name} value={o.value} checked={state.choice === o.value} onChange={() => changed(state.setChoice)(o.value)} className="sr-only" />
            {o.label}
          </label>
        ))}
      </div>
      {state.choice === "custom" && (
        <div className="mt-3 flex max-w-xs gap-2">
          <input
            type="number"
            min={1}
            step="any"
            aria-label={customLabel}
            value={state.customValue}
            onChange={(e) => changed(state.setCustomValue)(e.target.value)}
            className={`block w-28 rounded-md border-0 px-3 py-2 text-slate-900 shadow-sm ring-1 ring-inset focus:outline-none focus:ring-2 focus:ring-inset focus:ring-indigo-600 ${invalid ? "ring-red-400" : "ring-slate-300"}`}
          />
          <select
            aria-label={`${customLabel} unit`}
            value={state.customUnit}
            onChange={(e) => changed(state.setCustomUnit)(e.target.value as ExpiryUnit)}
            className="block rounded-md border-0 bg-white px-3 py-2 ring-1 ring-inset ring-slate-300 focus:outline-none focus:ring-2 focus:ring-indigo-600"
          >
            <option value="minutes">minutes</option>
            <option value="hours">hours</option>
            <option value="days">days</option>
          </select>
        </div>
      )}
    </>
  );
}
