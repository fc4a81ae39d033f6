import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deleteSchema,
  ErrorCode,
  editSchema,
  handshakeAuthSchema,
  historySchema,
  joinSchema,
  Limits,
  leaveSchema,
  parseHandshakeAuth,
  parsePayload,
  roomsListSchema,
  sendSchema,
  seqOfId,
  typingSchema,
} from "./index.js";

const schemas = {
  handshakeAuthSchema,
  joinSchema,
  leaveSchema,
  sendSchema,
  typingSchema,
  historySchema,
  editSchema,
  deleteSchema,
  roomsListSchema,
};

/** Anything a hostile client can put in a Socket.IO event (JSON plus a few JS oddities). */
const anyValue = fc.oneof(
  fc.jsonValue(),
  fc.anything(),
  fc.constantFrom(undefined, null, Number.NaN, Number.POSITIVE_INFINITY, -0, "__proto__", { __proto__: null }),
);

/** Values shaped like real payloads, with each field sometimes wrong. */
const nearlyValid = fc.record(
  {
    room: fc.oneof(fc.constantFrom("general", "a", "Room!", "", "x".repeat(41)), fc.string(), anyValue),
    since: fc.oneof(fc.integer(), fc.double(), fc.constant(-1), anyValue),
    before: fc.oneof(fc.integer(), fc.double(), anyValue),
    limit: fc.oneof(fc.integer({ min: -5, max: 300 }), anyValue),
    id: fc.oneof(fc.constantFrom("general:1", "general:0", "general:x", ":1"), fc.string(), anyValue),
    text: fc.oneof(fc.string({ maxLength: 5000 }), fc.constant("   "), anyValue),
    clientId: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/), fc.string(), anyValue),
    typing: fc.oneof(fc.boolean(), anyValue),
    name: fc.oneof(fc.string({ maxLength: 40 }), fc.constant("\u202eevil"), anyValue),
    token: fc.oneof(fc.string({ maxLength: 2000 }), anyValue),
  },
  { requiredKeys: [] },
);

describe("parseHandshakeAuth", () => {
  it("answers exactly what the schema answers, for any value", () => {
    const auth = fc.record(
      {
        name: fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.constantFrom(" ", " ada ", "x".repeat(33), "\u202eevil"),
          anyValue,
        ),
        token: fc.oneof(fc.string({ maxLength: 1100 }), fc.constant("t".repeat(1025)), anyValue),
        protocol: fc.oneof(
          fc.integer(),
          fc.double(),
          fc.constantFrom(2 ** 53, 2 ** 53 - 1, -(2 ** 53), -0, 1.5, Number.NaN, "2"),
          anyValue,
        ),
        other: anyValue,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(anyValue, auth), (value) => {
        expect(parseHandshakeAuth(value)).toEqual(parsePayload(handshakeAuthSchema, value));
      }),
      { numRuns: 5000 },
    );
  });
});

describe("every event schema", () => {
  for (const [name, schema] of Object.entries(schemas)) {
    it(`${name}: any value either passes or is invalid_payload, and never throws`, () => {
      fc.assert(
        fc.property(fc.oneof(anyValue, nearlyValid), (value) => {
          const result = parsePayload(schema, value);
          if (result.ok) {
            // What passes is exactly what the schema promises (no prototype tricks survive).
            expect(schema.safeParse(result.data).success).toBe(true);
          } else {
            expect(result.error.code).toBe(ErrorCode.InvalidPayload);
            expect(result.error.message.length).toBeGreaterThan(0);
          }
        }),
        { numRuns: 2000 },
      );
    });
  }
});

describe("field rules", () => {
  it("accepts a well-formed send and names the field of a bad one", () => {
    expect(parsePayload(sendSchema, { room: "general", text: "hi", clientId: "abcdefgh" }).ok).toBe(true);
    expect(parsePayload(sendSchema, { room: "general", text: " ", clientId: "abcdefgh" })).toMatchObject({
      ok: false,
      error: { message: "text: text cannot be blank" },
    });
    expect(parsePayload(joinSchema, { room: "General" })).toMatchObject({
      ok: false,
      error: { code: "invalid_payload" },
    });
    expect(
      parsePayload(sendSchema, { room: "g", text: "x".repeat(Limits.textLength + 1), clientId: "abcdefgh" }).ok,
    ).toBe(false);
  });

  it("refuses names with control or bidi-override characters and trims the rest", () => {
    expect(parsePayload(handshakeAuthSchema, { name: "\u202eadmin" }).ok).toBe(false);
    expect(parsePayload(handshakeAuthSchema, { name: "a\u0000b" }).ok).toBe(false);
    expect(parsePayload(handshakeAuthSchema, { name: "  ada  " })).toEqual({ ok: true, data: { name: "ada" } });
  });
});

describe("message ids", () => {
  it("names the seq of a message id only within its own room", () => {
    expect(seqOfId("general", "general:42")).toBe(42);
    expect(seqOfId("general", "random:42")).toBeNull();
    expect(seqOfId("gen", "general:1")).toBeNull();
    expect(parsePayload(editSchema, { room: "general", id: "general:0", text: "x" }).ok).toBe(false);
    expect(parsePayload(deleteSchema, { room: "general", id: "general:7" }).ok).toBe(true);
    expect(parsePayload(historySchema, { room: "general", before: 10, limit: 0 }).ok).toBe(false);
    expect(parsePayload(historySchema, { room: "general", before: 10 }).ok).toBe(true);
  });
});
