import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

/** Screenshots of every state (git-ignored); the ones the docs show are copied to docs/. */
export const ARTIFACTS = fileURLToPath(new URL("../artifacts/", import.meta.url));
const DOCS = fileURLToPath(new URL("../../docs/", import.meta.url));

export async function shoot(page: Page, name: string, docsName?: string) {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path });
  if (docsName && process.env.UPDATE_DOCS_SCREENSHOTS) await copyFile(path, `${DOCS}${docsName}.png`);
}

/** Serious and critical axe findings, as readable lines (empty = pass). */
export async function axeProblems(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.passes.length).toBeGreaterThan(0); // the scan really looked at something
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** The page's own scroll state and size, and anything sticking out sideways. */
export function pageGeometry(page: Page) {
  return page.evaluate(() => {
    const offenders = Array.from(document.querySelectorAll("body *"))
      .filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.right > window.innerWidth + 1 && el.closest(".room-tabs") === null;
      })
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
    return {
      scrollY: window.scrollY,
      scrollX: window.scrollX,
      pageHeight: document.documentElement.scrollHeight,
      pageWidth: document.documentElement.scrollWidth,
      innerHeight: window.innerHeight,
      innerWidth: window.innerWidth,
      offenders,
    };
  });
}

export async function expectInViewport(page: Page, selector: string) {
  const box = await page.locator(selector).boundingBox();
  const viewport = page.viewportSize();
  expect(box, selector).not.toBeNull();
  if (!box || !viewport) return;
  expect(box.y).toBeGreaterThanOrEqual(0);
  expect(box.y + box.height).toBeLessThanOrEqual(viewport.height + 1);
}
