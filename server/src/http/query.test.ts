import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasSid } from "./query.js";

const exact = (url: string) => new URL(url, "http://x").searchParams.has("sid");

describe("hasSid", () => {
  it("finds sid only as a parameter name of the query", () => {
    expect(hasSid("/socket.io/?EIO=4&transport=websocket")).toBe(false);
    expect(hasSid("/socket.io/?EIO=4&transport=polling&sid=abc")).toBe(true);
    expect(hasSid("/socket.io/?sid")).toBe(true);
    expect(hasSid("/socket.io/?a=sid&xsid=1&sidx=2")).toBe(false);
    expect(hasSid("/socket.io/?a=b?sid=1")).toBe(false);
    expect(hasSid("/socket.io/sid?x=1")).toBe(false);
    expect(hasSid("/socket.io/?%73id=1")).toBe(true);
    expect(hasSid("/socket.io/?x=1#&sid=2")).toBe(false);
  });

  it("agrees with URLSearchParams on any query", () => {
    const piece = fc.constantFrom(
      "sid",
      "s",
      "id",
      "=",
      "&",
      "?",
      "#",
      "%73",
      "%",
      "+",
      "x",
      "EIO=4",
      ";",
      " ",
      "\t",
      "é",
      "\u0000",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const url = `/socket.io/?${parts.join("")}`;
        expect(hasSid(url)).toBe(exact(url));
      }),
      { numRuns: 2000 },
    );
  });
});
