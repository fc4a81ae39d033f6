/**
 * Fixtures of the cluster specs: one cluster per worker (the rig, or kind with E2E_TARGET=kind),
 * reset to the manifests' shape before each test, and people: browser contexts with the chat
 * open, each recording what its connection status and presence list showed, and when.
 *
 * On failure the cluster's logs and timeline and a screenshot of every person's page are kept in
 * the test's output directory (test-results/...), next to Playwright's trace.
 */
import { type BrowserContext, test as base, expect } from "@playwright/test";
import type { ClusterDriver } from "../../drivers/driver.js";
import { driverFromEnv } from "../../drivers/select-driver.js";
import { ChatPage } from "../../support/chat-page.js";

export { expect };

/** What a page's connection status and presence list showed, recorded in the page itself. */
export interface PageLog {
  status: { t: number; state: string | null; pod: string | null }[];
  presence: { t: number; users: string[] }[];
}

declare global {
  interface Window {
    __e2e?: PageLog;
    __e2eMarker?: string;
  }
}

/** Runs in every page before the app: a MutationObserver notes each change, with Date.now(). */
function recordPage() {
  const log: PageLog = { status: [], presence: [] };
  window.__e2e = log;
  let state: string | null | undefined;
  let pod: string | null | undefined;
  let users = "";
  const check = () => {
    const el = document.querySelector('[data-testid="connection-status"]');
    if (el && (el.getAttribute("data-state") !== state || el.getAttribute("data-pod") !== pod)) {
      state = el.getAttribute("data-state");
      pod = el.getAttribute("data-pod");
      log.status.push({ t: Date.now(), state, pod });
    }
    const list = document.querySelector('[data-testid="presence-list"]');
    if (list) {
      const now = Array.from(list.querySelectorAll('[data-testid="presence-user"]')).map(
        (u) => (u.querySelector(".person-name") ?? u).textContent?.trim() ?? "",
      );
      if (now.join("\n") !== users) {
        users = now.join("\n");
        log.presence.push({ t: Date.now(), users: now });
      }
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ["data-state", "data-pod"],
  });
}

export interface Shown {
  seq: number;
  text: string;
  status: string;
  clientId: string;
}

/** One person in their own browser context. */
export class Person {
  /** Epoch ms and text of every message this person typed. */
  readonly sent: { t: number; text: string }[] = [];

  constructor(
    readonly name: string,
    readonly chat: ChatPage,
    readonly context: BrowserContext,
  ) {}

  get page() {
    return this.chat.page;
  }

  async send(text: string) {
    this.sent.push({ t: Date.now(), text });
    await this.chat.send(text);
  }

  async pod(): Promise<string> {
    return (await this.chat.status.getAttribute("data-pod")) ?? "";
  }

  async status() {
    const s = this.chat.status;
    return {
      state: await s.getAttribute("data-state"),
      pod: await s.getAttribute("data-pod"),
      disconnectedMs: Number(await s.getAttribute("data-disconnected-ms")),
      connections: Number(await s.getAttribute("data-connections")),
    };
  }

  /** The messages on screen, in order. */
  transcript(): Promise<Shown[]> {
    return this.chat.messages.evaluateAll((els) =>
      els.map((el) => ({
        seq: Number(el.getAttribute("data-seq") || Number.NaN),
        text: el.querySelector('[data-testid="message-text"]')?.textContent ?? "",
        status: el.getAttribute("data-status") ?? "",
        clientId: el.getAttribute("data-client-id") ?? "",
      })),
    );
  }

  log(): Promise<PageLog> {
    return this.page.evaluate(() => window.__e2e ?? { status: [], presence: [] });
  }

  /** A mark that survives anything but a page load: proof the page was never reloaded. */
  async markPage(): Promise<string> {
    const mark = `${this.name}-${Date.now()}`;
    await this.page.evaluate((m) => {
      window.__e2eMarker = m;
    }, mark);
    return mark;
  }

  pageMark(): Promise<string | undefined> {
    return this.page.evaluate(() => window.__e2eMarker);
  }
}

interface WorkerFixtures {
  clusterDriver: ClusterDriver;
}

interface TestFixtures {
  /** The cluster, in the manifests' shape (replica count) at the start of the test. */
  cluster: ClusterDriver;
  /** A room no other test uses. */
  room: string;
  /** Open the chat in a new browser context, as `name`, in `room`. */
  person: (name: string, room: string) => Promise<Person>;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  clusterDriver: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads fixture dependencies from this destructuring
    async ({}, use) => {
      const driver = await driverFromEnv();
      await use(driver);
      await driver.stop();
    },
    { scope: "worker", timeout: 120_000 },
  ],

  cluster: async ({ clusterDriver }, use, testInfo) => {
    await clusterDriver.reset();
    await use(clusterDriver);
    if (testInfo.status !== testInfo.expectedStatus) {
      const files = await clusterDriver.collectArtifacts(testInfo.outputPath("cluster"));
      for (const f of files.filter((f) => f.endsWith("timeline.json"))) {
        await testInfo.attach("cluster timeline", { path: f, contentType: "application/json" });
      }
    }
  },

  baseURL: async ({ cluster }, use) => {
    await use(cluster.baseUrl);
  },

  // biome-ignore lint/correctness/noEmptyPattern: as above
  room: async ({}, use, testInfo) => {
    const slug = testInfo.title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .slice(0, 20);
    await use(`c-${slug}-${Date.now().toString(36)}`.replace(/-+/g, "-"));
  },

  person: async ({ browser, baseURL }, use, testInfo) => {
    const people: Person[] = [];
    await use(async (name, room) => {
      const context = await browser.newContext({ baseURL });
      await context.addInitScript(recordPage);
      const chat = new ChatPage(await context.newPage());
      await chat.join(room, name);
      const p = new Person(name, chat, context);
      people.push(p);
      return p;
    });
    if (testInfo.status !== testInfo.expectedStatus) {
      for (const p of people) {
        const shot = await p.page.screenshot({ path: testInfo.outputPath(`${p.name}.png`) }).catch(() => undefined);
        if (shot) await testInfo.attach(`${p.name}'s page`, { body: shot, contentType: "image/png" });
      }
    }
    await Promise.all(people.map((p) => p.context.close()));
  },
});

/**
 * Every person shows the same transcript: exactly the messages sent (each once), all
 * acknowledged, in seq order with no gaps. Waits (bounded) for late deliveries first.
 */
export async function expectSameCompleteTranscript(people: Person[], timeoutMs = 20_000) {
  const sent = people.flatMap((p) => p.sent.map((s) => s.text));
  for (const p of people) {
    await expect(p.chat.messages, `${p.name} sees every message`).toHaveCount(sent.length, { timeout: timeoutMs });
    await expect(
      p.page.locator('[data-testid="message"]:not([data-status="sent"])'),
      `${p.name}: all acknowledged`,
    ).toHaveCount(0, {
      timeout: timeoutMs,
    });
  }
  const transcripts = await Promise.all(people.map((p) => p.transcript()));
  const [first, ...rest] = transcripts;
  const texts = (first ?? []).map((m) => m.text);
  expect(new Set(texts).size, "no message shown twice").toBe(texts.length);
  expect([...texts].sort(), "exactly the messages that were sent").toEqual([...sent].sort());
  expect(
    (first ?? []).map((m) => m.seq),
    "seqs 1..n, in order, no gaps",
  ).toEqual(texts.map((_, i) => i + 1));
  for (const [i, t] of rest.entries()) {
    expect(
      t.map((m) => `${m.seq} ${m.text}`),
      `${people[i + 1]?.name} shows the same transcript as ${people[0]?.name}`,
    ).toEqual((first ?? []).map((m) => `${m.seq} ${m.text}`));
  }
  // Each person's own messages appear in the order they typed them.
  for (const p of people) {
    const mine = p.sent.map((s) => s.text);
    expect(
      texts.filter((t) => mine.includes(t)),
      `${p.name}'s messages in the order typed`,
    ).toEqual(mine);
  }
}

/** Keep `people` typing, each every `everyMs`, until `stop()`; returns the stop function. */
export function keepTalking(people: Person[], everyMs = 700) {
  let talking = true;
  const loops = people.map(async (p, i) => {
    await new Promise((r) => setTimeout(r, (i * everyMs) / people.length));
    for (let n = 1; talking && n <= 500; n++) {
      await p.send(`${p.name} #${n}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  });
  return async () => {
    talking = false;
    await Promise.all(loops);
  };
}
