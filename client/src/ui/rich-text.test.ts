import { describe, expect, it } from "vitest";
import { mentionsName, segments } from "./rich-text.js";

describe("message text segments", () => {
  it("links http and https URLs only, without trailing punctuation", () => {
    expect(segments("see https://example.org/a_(b)/c?x=1. ok", [], null)).toEqual([
      { kind: "text", text: "see " },
      { kind: "link", text: "https://example.org/a_(b)/c?x=1", href: "https://example.org/a_(b)/c?x=1" },
      { kind: "text", text: ". ok" },
    ]);
    expect(segments("(http://a.io)", [], null).map((s) => s.kind)).toEqual(["text", "link", "text"]);
    for (const text of ["javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://x.org", "www.example.org"]) {
      expect(segments(text, [], null)).toEqual([{ kind: "text", text }]);
    }
  });

  it("highlights @names of present users, longest first, not inside e-mail addresses", () => {
    const present = ["ada", "ada l.", "bob"];
    expect(segments("hi @Ada L. and @bob, mail ada@bob.org or @bobby", present, "bob")).toEqual([
      { kind: "text", text: "hi " },
      { kind: "mention", text: "@Ada L.", me: false },
      { kind: "text", text: " and " },
      { kind: "mention", text: "@bob", me: true },
      { kind: "text", text: ", mail ada@bob.org or @bobby" },
    ]);
    expect(mentionsName("ping @BOB!", "bob")).toBe(true);
    expect(mentionsName("ping @bobby", "bob")).toBe(false);
  });
});
