import { describe, expect, it } from "vitest";
import { dayKey, dayLabel } from "./dates.js";

describe("day separators", () => {
  const now = new Date(2026, 2, 10, 9, 30).getTime(); // local time: 10 March 2026, 09:30
  it("says Today, Yesterday, then the date, by local calendar day", () => {
    expect(dayLabel(new Date(2026, 2, 10, 0, 1).getTime(), now)).toBe("Today");
    expect(dayLabel(new Date(2026, 2, 9, 23, 59).getTime(), now)).toBe("Yesterday");
    expect(dayLabel(new Date(2026, 2, 8, 12, 0).getTime(), now)).toMatch(/2026/);
    expect(dayKey(new Date(2026, 2, 9, 23, 59).getTime())).not.toBe(dayKey(new Date(2026, 2, 10, 0, 0).getTime()));
  });
});
