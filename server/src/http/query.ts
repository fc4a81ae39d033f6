const SID_PARAM = /(?:^|&)sid(?:[=&]|$)/;
// What the URL parser would decode (percent escapes), cut (a fragment) or strip (spaces, controls).
const NEEDS_PARSER = /[^\x21-\x7e]|[%#]/;

/** `sid` among the query's parameter names, without a URL parse (most of the gate's cost per handshake). */
export function hasSid(url: string): boolean {
  if (NEEDS_PARSER.test(url)) return new URL(url, "http://x").searchParams.has("sid");
  const query = url.indexOf("?");
  return query >= 0 && SID_PARAM.test(url.slice(query + 1));
}
