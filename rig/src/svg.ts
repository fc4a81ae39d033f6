/** What every chart of the rig (and the bench's, drawn with it) shares: escaping and the document. */

export const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A standalone SVG document on a white background, titled. */
export function svgDocument(o: { width: number; height: number; title: string; fontSize: number }, body: string[]) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${o.width}" height="${o.height}" viewBox="0 0 ${o.width} ${o.height}" font-family="system-ui, sans-serif" font-size="${o.fontSize}" fill="#1f2933">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="600">${esc(o.title)}</text>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}
