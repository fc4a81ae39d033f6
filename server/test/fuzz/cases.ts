/**
 * Hostile inputs for the raw fuzzer, as Engine.IO v4 text/binary frames sent after a valid
 * Socket.IO connect. Generated from a seed so any failing case can be replayed.
 */
export type Frame = string | Buffer;

export interface Case {
  kind: string;
  frames: Frame[];
}

/** mulberry32: small, fast, good enough to spread cases. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = [
  "room:join",
  "room:leave",
  "message:send",
  "typing",
  "room:history",
  "message:edit",
  "message:delete",
  "rooms:list",
  "session",
  "__proto__",
  "constructor",
  "x",
  "",
];

export function makeCase(rand: () => number, maxPayload: number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const int = (n: number) => Math.floor(rand() * n);
  const str = (n: number) => Array.from({ length: n }, () => String.fromCharCode(int(0x2fff))).join("");
  const json = (depth = 0): unknown => {
    switch (int(depth > 3 ? 5 : 8)) {
      case 0:
        return int(2) ? int(1e9) : -rand() * 1e300;
      case 1:
        return str(int(20));
      case 2:
        return null;
      case 3:
        return int(2) === 1;
      case 4:
        return pick(["general", "a", "Room!", "../../etc", "{room:x}", "x".repeat(50)]);
      case 5:
        return Array.from({ length: int(4) }, () => json(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: int(5) }, () => [
            pick(["room", "text", "clientId", "since", "typing", "__proto__", "constructor", "name", "token"]),
            json(depth + 1),
          ]),
        );
    }
  };
  const event = () => `42${int(3) === 0 ? int(1e6) : ""}${JSON.stringify([pick(EVENTS), json(), json()])}`;

  switch (int(12)) {
    case 0:
      return { kind: "random text", frames: [str(int(200))] };
    case 1:
      return {
        kind: "truncated packet",
        frames: [
          pick(["", "4", "42", "42[", '42["message:send",', "43", "4x", "45", "451-", "46", "9", "0", "1", "6"]),
        ],
      };
    case 2:
      return { kind: "event with random payload", frames: [event()] };
    case 3:
      return { kind: "many events", frames: Array.from({ length: 2 + int(20) }, event) };
    case 4:
      return { kind: "unknown event", frames: [`42${JSON.stringify([str(int(30)), json()])}`] };
    case 5:
      return {
        kind: "oversized frame",
        frames: [
          `42["message:send",{"room":"a","text":"${"x".repeat(maxPayload + int(maxPayload))}","clientId":"abcdefgh"}]`,
        ],
      };
    case 6:
      return { kind: "binary garbage", frames: [Buffer.from(Array.from({ length: 1 + int(512) }, () => int(256)))] };
    case 7:
      return {
        kind: "deep nesting",
        frames: [`42["room:join",${"[".repeat(1000 + int(4000))}${"]".repeat(int(3) ? 0 : 5000)}]`],
      };
    case 8:
      return {
        kind: "namespace junk",
        frames: [pick(["40/admin,", "40/nope,{}", "41/x,", "44/,{}", "40,", `40${"/".repeat(300)},`])],
      };
    case 9:
      return {
        kind: "binary event without attachments",
        frames: [`451-["message:send",{"_placeholder":true,"num":${int(5)}}]`],
      };
    case 10:
      return {
        kind: "prototype pollution",
        frames: [
          `42["room:join",{"__proto__":{"room":"general","polluted":1}}]`,
          '42["message:send",{"constructor":{"prototype":{"x":1}}}]',
        ],
      };
    default:
      return { kind: "ack for nothing", frames: [`43${int(1e9)}${JSON.stringify([json()])}`] };
  }
}
