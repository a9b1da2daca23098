import { describe, expect, it } from "vitest";
import { AppError, errorBody } from "../../lib/errors";
import { errorResponse } from "../../lib/http/api-route";

describe("AppError", () => {
  it("maps codes to statuses in one place", () => {
    expect(new AppError("token_missing", "x").status).toBe(401);
    expect(new AppError("not_found", "x").status).toBe(404);
    expect(new AppError("rate_limited", "x").status).toBe(429);
    expect(errorBody(new AppError("conflict", "dup"))).toEqual({ error: { code: "conflict", message: "dup" } });
  });

  it("renders the API error shape and hides unexpected errors", async () => {
    const res = errorResponse(new AppError("rate_limited", "slow down", undefined, 30), "req-1");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("30");
    expect(await res.json()).toEqual({ error: { code: "rate_limited", message: "slow down" } });

    const hidden = errorResponse(new Error("db password is hunter2"), "req-2");
    expect(hidden.status).toBe(500);
    const body = await hidden.json();
    expect(body.error.code).toBe("internal");
    expect(JSON.stringify(body)).not.toContain("hunter2");
  });
});
