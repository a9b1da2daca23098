import type { PortRange } from "./types";

// FTP_PROCESSES gateway processes share the control port; each announces and listens on passive ports from its
// own slice of the range only, so a client's data connection always reaches the process that sent the 227/229.

/** Process `index`'s slice of `range` split `count` ways: contiguous, disjoint, the first ones one port larger. */
export function passiveSlice(range: PortRange, index: number, count: number): PortRange {
  const total = range.to - range.from + 1;
  if (!Number.isInteger(count) || count < 1 || count > total) throw new RangeError(`cannot split ${total} passive ports ${count} ways`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`process index ${index} is not below ${count}`);
  const size = Math.floor(total / count);
  const extra = total % count;
  const from = range.from + index * size + Math.min(index, extra);
  return { from, to: from + size + (index < extra ? 1 : 0) - 1 };
}
