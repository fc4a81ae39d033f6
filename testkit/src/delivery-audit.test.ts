import type { ChatMessage } from "@chat/protocol";
import { describe, expect, it } from "vitest";
import { type AuditedClient, auditDelivery } from "./delivery-audit.js";

const msg = (room: string, seq: number, clientId: string): ChatMessage => ({
  id: `${room}:${seq}`,
  seq,
  room,
  clientId,
  text: clientId,
  ts: seq,
  author: { id: "u", name: "u" },
});
const client = (
  name: string,
  known: ChatMessage[],
  acked: ChatMessage[] = [],
  twice: string[] = [],
): AuditedClient => ({
  rooms: ["r"],
  known: new Map([["r", new Map(known.map((m) => [m.seq, m]))]]),
  acked,
  deliveries: new Map(twice.map((id) => [id, 2])),
  session: { user: { name } },
});

describe("auditDelivery", () => {
  it("finds nothing wrong when every member holds the whole transcript", () => {
    const all = [msg("r", 1, "a"), msg("r", 2, "b")];
    expect(
      auditDelivery([client("x", all, [all[0] as ChatMessage]), client("y", all, [all[1] as ChatMessage])]),
    ).toEqual({ acked: 2, lost: [], storedTwice: [], duplicateDeliveries: 0 });
  });

  it("reports a member's hole, a message stored twice and repeated broadcasts", () => {
    const a = msg("r", 1, "a");
    const b = msg("r", 2, "b");
    const again = msg("r", 3, "a");
    const audit = auditDelivery([client("x", [a, b, again], [a, b], ["r:2"]), client("y", [a], [again])]);
    expect(audit.lost).toEqual(["y lacks r:2", "y lacks r:3"]);
    expect(audit.storedTwice).toEqual(["r: clientId a at seqs 1, 3"]);
    expect(audit.duplicateDeliveries).toBe(1);
  });
});
