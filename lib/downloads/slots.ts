import crypto from "node:crypto";
import { redis } from "../redis";

// Download slots: a share's download limit counts transfers when they START, atomically in Redis, so any number of
// gateway processes racing on the last slot give exactly one transfer.
//
// What counts (also in the README):
// - a RETR from offset 0 of a file takes a slot;
// - a RETR after REST (offset > 0) of a file these FTP credentials already took a slot for is a resume and free,
//   while that slot's bytes stay within one copy plus a small overlap: a slot's transfers may send at most
//   `size + overlap(size)` bytes in all, counting a running transfer as the rest of the file. So `curl -C -` after
//   a drop finishes, while "abort one byte short, REST 1, repeat" or parallel resumes cannot make a second copy;
// - any other RETR takes a new slot (a restart from 0, or a resume past what the slot allows);
// - a transfer whose data connection never opened gives its slot back;
// - a running transfer reports the bytes it has sent every HEARTBEAT_MS; one silent for STALE_MS (its process was
//   killed, or lost Redis) counts as ended with the bytes it last reported, settled by the next RESERVE of the share
//   in the same atomic step that judges the new transfer. So `curl -C -` after a gateway was SIGKILLed resumes in
//   the first slot once the dead transfer is stale (before that it is refused like any parallel resume). A live
//   transfer that finds itself settled this way is cut (its later bytes would be counted nowhere): fail closed.
//   The bytes a killed process sent after its last report (at most HEARTBEAT_MS worth, plus socket buffers) are the
//   imprecision of the rule, well within the overlap a resume may re-send anyway.
//
// State: one Redis hash per share (`tft:dl:<shareId>`, expiring with the share): `taken` slots, `active` transfers,
// `s:<user>:<fileId>` → that file's latest slot number, `u:<slot>` → bytes the slot sent or may still send,
// `t:<transfer>` → "slot:reserved:sent:heartbeatMs" of each running transfer (Redis's clock, so hosts' clocks do not
// matter), `end` → when the last transfer ended. The database's Share.downloads mirrors `taken`, and is the floor the
// script starts from, so losing Redis never hands out more slots than the database has recorded.

export const slotsKey = (shareId: string) => `tft:dl:${shareId}`;

/** How often a running transfer reports its bytes, and how long a silent one counts as running. */
export const HEARTBEAT_MS = 2000;
export const STALE_MS = 5 * HEARTBEAT_MS;

/** The re-sent bytes a slot allows across resumes: what a dropped connection may have lost in flight. */
export function resumeOverlap(size: number): number {
  return Math.min(8 * 1024 * 1024, Math.floor(size / 2));
}

// Redis's clock in ms: every process and host judges staleness by the same clock.
const NOW = `local function now() local t = redis.call('TIME') return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
`;

// KEYS[1] hash · ARGV: max (-1: none), dbTaken, user:fileId, offset, size, overlap, expiresAtMs, transfer id, staleMs
// → {kind, taken, slot}: kind 1 new slot, 0 free resume, -1 refused (limit reached)
const RESERVE = `${NOW}
local h = KEYS[1]
local t = now()
-- Transfers silent for staleMs end here with the bytes they last reported, before the new one is judged.
if tonumber(redis.call('HGET', h, 'active') or '0') > 0 then
  local all = redis.call('HGETALL', h)
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 't:' then
      local slot, reserved, sent, beat = string.match(all[i + 1], '^(%d+):(%d+):(%d+):(%d+)$')
      if beat and t - tonumber(beat) > tonumber(ARGV[9]) then
        redis.call('HINCRBY', h, 'u:' .. slot, tonumber(sent) - tonumber(reserved))
        redis.call('HDEL', h, all[i])
        if redis.call('HINCRBY', h, 'active', -1) < 0 then redis.call('HSET', h, 'active', 0) end
        redis.call('HSET', h, 'end', t)
      end
    end
  end
end
local max = tonumber(ARGV[1])
local taken = math.max(tonumber(redis.call('HGET', h, 'taken') or '0'), tonumber(ARGV[2]))
local sf = 's:' .. ARGV[3]
local offset = tonumber(ARGV[4])
local want = tonumber(ARGV[5]) - offset
local kind
local slot = tonumber(redis.call('HGET', h, sf) or '0')
if offset > 0 and slot > 0 and tonumber(redis.call('HGET', h, 'u:' .. slot) or '0') - offset <= tonumber(ARGV[6]) then
  kind = 0
elseif max >= 0 and taken >= max then
  redis.call('HSET', h, 'taken', taken)
  redis.call('PEXPIREAT', h, ARGV[7])
  return {-1, taken, 0}
else
  kind = 1
  taken = taken + 1
  slot = taken
  redis.call('HSET', h, sf, slot)
end
redis.call('HSET', h, 'taken', taken)
redis.call('HINCRBY', h, 'u:' .. slot, want)
redis.call('HINCRBY', h, 'active', 1)
redis.call('HSET', h, 't:' .. ARGV[8], slot .. ':' .. want .. ':0:' .. t)
redis.call('PEXPIREAT', h, ARGV[7])
return {kind, taken, slot}
`;

// KEYS[1] hash · ARGV: transfer id, sent bytes → 1, or 0 when the transfer was settled as stale (or the share's
// slots are gone)
const BEAT = `${NOW}
local h = KEYS[1]
local f = 't:' .. ARGV[1]
local v = redis.call('HGET', h, f)
if not v then return 0 end
local slot, reserved = string.match(v, '^(%d+):(%d+):')
redis.call('HSET', h, f, slot .. ':' .. reserved .. ':' .. ARGV[2] .. ':' .. now())
return 1
`;

// KEYS[1] hash · ARGV: slot, reserved bytes, sent bytes, released (1: never started), transfer id, bytes last
// reported → {taken, active}
const FINISH = `${NOW}
local h = KEYS[1]
if redis.call('EXISTS', h) == 0 then return {-1, 0} end
if redis.call('HDEL', h, 't:' .. ARGV[5]) == 0 then
  -- Settled as stale already (charged what it last reported, no longer active): charge only the bytes since.
  redis.call('HINCRBY', h, 'u:' .. ARGV[1], tonumber(ARGV[3]) - tonumber(ARGV[6]))
  return {tonumber(redis.call('HGET', h, 'taken') or '0'), tonumber(redis.call('HGET', h, 'active') or '0')}
end
redis.call('HINCRBY', h, 'u:' .. ARGV[1], tonumber(ARGV[3]) - tonumber(ARGV[2]))
if ARGV[4] == '1' and tonumber(ARGV[3]) == 0 and redis.call('HGET', h, 'taken') == ARGV[1] then
  redis.call('HINCRBY', h, 'taken', -1)
end
local active = redis.call('HINCRBY', h, 'active', -1)
if active < 0 then redis.call('HSET', h, 'active', 0) active = 0 end
redis.call('HSET', h, 'end', now())
return {tonumber(redis.call('HGET', h, 'taken') or '0'), active}
`;

export type SlotRequest = {
  shareId: string;
  user: string;
  fileId: string;
  offset: number;
  size: number;
  maxDownloads: number | null;
  /** Share.downloads: Redis never starts below what the database recorded. */
  recorded: number;
  expiresAt: Date;
  /** Tests only: a shorter silence after which a running transfer counts as ended. */
  staleMs?: number;
};

export type Reservation = {
  kind: "new" | "resume";
  slot: number;
  taken: number;
  reserved: number;
  /** This transfer's heartbeat field. */
  transfer: string;
  /** The bytes its last heartbeat reported (what a stale settlement charged). */
  reported: number;
};

/** Takes a slot (or joins the file's slot for a resume); null when the limit is reached. */
export async function reserveSlot(r: SlotRequest): Promise<Reservation | null> {
  const transfer = crypto.randomUUID();
  const args = [r.maxDownloads ?? -1, r.recorded, `${r.user}:${r.fileId}`, r.offset, r.size, resumeOverlap(r.size), r.expiresAt.getTime(), transfer, r.staleMs ?? STALE_MS];
  const [kind, taken, slot] = (await redis().eval(RESERVE, 1, slotsKey(r.shareId), ...args)) as [number, number, number];
  if (kind < 0) return null;
  return { kind: kind === 1 ? "new" : "resume", slot, taken, reserved: r.size - r.offset, transfer, reported: 0 };
}

/** A running transfer's heartbeat: the bytes sent so far. False when it was settled as stale: it must stop. */
export async function beatSlot(shareId: string, res: Reservation, sent: number): Promise<boolean> {
  const alive = (await redis().eval(BEAT, 1, slotsKey(shareId), res.transfer, sent)) === 1;
  if (alive) res.reported = sent;
  return alive;
}

/**
 * Ends a reserved transfer: its slot is charged the bytes really sent. A transfer that never started (no data
 * connection) gives a new slot back when no later one was taken. Answers the slots taken and transfers still running.
 */
export async function finishSlot(shareId: string, res: Reservation, sent: number, started: boolean): Promise<{ taken: number; active: number }> {
  const release = !started && res.kind === "new" ? "1" : "0";
  const args = [res.slot, res.reserved, sent, release, res.transfer, res.reported];
  const [taken, active] = (await redis().eval(FINISH, 1, slotsKey(shareId), ...args)) as [number, number];
  return { taken, active };
}

/** Transfers running and when the last one ended (ms), for the delayed end after an aborted last slot. */
export async function slotState(shareId: string): Promise<{ taken: number; active: number; lastEnd: number }> {
  const [taken, active, end] = await redis().hmget(slotsKey(shareId), "taken", "active", "end");
  return { taken: Number(taken ?? 0), active: Number(active ?? 0), lastEnd: Number(end ?? 0) };
}

export async function dropSlots(shareId: string): Promise<void> {
  await redis().del(slotsKey(shareId));
}
