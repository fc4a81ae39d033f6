const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
});

/** The local calendar day of an epoch-ms time. */
export const dayKey = (ts: number) => new Date(ts).toDateString();

/** "Today", "Yesterday", or the date, in the reader's time zone. */
export function dayLabel(ts: number, now = Date.now()): string {
  const key = dayKey(ts);
  if (key === dayKey(now)) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (key === yesterday.toDateString()) return "Yesterday";
  return dayFormat.format(new Date(ts));
}
