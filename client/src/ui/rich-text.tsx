import type { ReactNode } from "react";

/** http(s) URLs up to whitespace; trailing punctuation is left out (see trimUrl). */
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;

/** "see https://x.org/a)." -> "https://x.org/a" unless the parenthesis opened inside the URL. */
function trimUrl(raw: string): string {
  let url = raw.replace(/[.,;:!?'"*]+$/, "");
  while (url.endsWith(")") && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0)) {
    url = url.slice(0, -1).replace(/[.,;:!?'"*]+$/, "");
  }
  return url;
}

function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export interface Segment {
  kind: "text" | "link" | "mention";
  text: string;
  /** Links: the checked href. Mentions: whether it names the reader. */
  href?: string;
  me?: boolean;
}

/**
 * Split message text into text, links and mentions. Only http(s) URLs become links, and only
 * `@name` of someone present (longest name first, case-insensitive) becomes a mention.
 * Everything stays a string: React renders it as text, so no HTML is ever injected.
 */
export function segments(text: string, present: readonly string[], me: string | null): Segment[] {
  const out: Segment[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = trimUrl(match[0]);
    const href = safeHref(url);
    if (!href) continue;
    const at = match.index ?? 0;
    if (at > last) out.push(...mentions(text.slice(last, at), present, me));
    out.push({ kind: "link", text: url, href });
    last = at + url.length;
  }
  if (last < text.length) out.push(...mentions(text.slice(last), present, me));
  return out;
}

function mentions(text: string, present: readonly string[], me: string | null): Segment[] {
  const names = [...new Set(present.filter(Boolean))].sort((a, b) => b.length - a.length);
  const lower = text.toLowerCase();
  const out: Segment[] = [];
  let plain = 0;
  for (let i = lower.indexOf("@"); i !== -1; i = lower.indexOf("@", i + 1)) {
    if (i > 0 && /[\p{L}\p{N}_]/u.test(text[i - 1] ?? "")) continue; // e-mail addresses
    const name = names.find((n) => {
      if (!lower.startsWith(n.toLowerCase(), i + 1)) return false;
      const next = text[i + 1 + n.length];
      return next === undefined || !/[\p{L}\p{N}_]/u.test(next);
    });
    if (!name) continue;
    if (i > plain) out.push({ kind: "text", text: text.slice(plain, i) });
    const end = i + 1 + name.length;
    out.push({ kind: "mention", text: text.slice(i, end), me: me !== null && name.toLowerCase() === me.toLowerCase() });
    plain = end;
    i = end - 1;
  }
  if (plain < text.length) out.push({ kind: "text", text: text.slice(plain) });
  return out;
}

/** Whether `text` mentions `name` (for notifications). */
export function mentionsName(text: string, name: string): boolean {
  return segments(text, [name], name).some((s) => s.kind === "mention" && s.me);
}

export function RichText({ text, present, me }: { text: string; present: readonly string[]; me: string | null }) {
  const parts: ReactNode[] = segments(text, present, me).map((s, i) => {
    const key = `${i}:${s.kind}`;
    if (s.kind === "link") {
      return (
        <a key={key} href={s.href} target="_blank" rel="noopener noreferrer" data-testid="message-link">
          {s.text}
        </a>
      );
    }
    if (s.kind === "mention") {
      return (
        <mark key={key} className={s.me ? "mention mention-me" : "mention"} data-testid="mention">
          {s.text}
        </mark>
      );
    }
    return s.text;
  });
  return <>{parts}</>;
}
