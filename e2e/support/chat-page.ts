import { expect, type Locator, type Page } from "@playwright/test";

/**
 * One person's chat tab, driven through the DOM contract (data-testid attributes) only, so
 * specs read as what a user does and sees.
 */
export class ChatPage {
  constructor(readonly page: Page) {}

  get status(): Locator {
    return this.page.getByTestId("connection-status");
  }
  get messageList(): Locator {
    return this.page.getByTestId("message-list");
  }
  get messages(): Locator {
    return this.page.getByTestId("message");
  }
  get composer(): Locator {
    return this.page.getByTestId("composer-input");
  }
  get presence(): Locator {
    return this.page.getByTestId("presence-user");
  }
  get typing(): Locator {
    return this.page.getByTestId("typing-indicator");
  }

  /** Open a room by link, pick a name if asked, and wait until connected with the room loaded. */
  async join(room: string, name?: string): Promise<void> {
    await this.page.goto(`/#/room/${room}`);
    if (name !== undefined) await this.setName(name);
    await this.expectConnected();
    await expect(this.tab(room)).toHaveAttribute("aria-current", "page");
    await expect(this.messageList).toHaveAttribute("aria-busy", "false");
  }

  async setName(name: string): Promise<void> {
    await this.page.getByTestId("name-input").fill(name);
    await this.page.getByTestId("name-input").press("Enter");
  }

  async expectConnected(): Promise<void> {
    await expect(this.status).toHaveAttribute("data-state", "connected");
  }

  tab(room: string): Locator {
    return this.page.locator(`[data-testid="room-tab"][data-room="${room}"]`);
  }

  /** Type and press Enter, as a user would. */
  async send(text: string): Promise<void> {
    await this.composer.fill(text);
    await this.composer.press("Enter");
  }

  /** The message whose text is exactly `text`. */
  message(text: string): Locator {
    return this.messages.filter({ has: this.page.getByTestId("message-text").getByText(text, { exact: true }) });
  }

  /**
   * What the status element reports: for rollout tests that measure how long a user was without
   * a connection (disconnectedMs includes an outage in progress) and how often the client connected.
   */
  async connectionStats(): Promise<{ state: string; pod: string; disconnectedMs: number; connections: number }> {
    return this.status.evaluate((el) => ({
      state: el.getAttribute("data-state") ?? "",
      pod: el.getAttribute("data-pod") ?? "",
      disconnectedMs: Number(el.getAttribute("data-disconnected-ms")),
      connections: Number(el.getAttribute("data-connections")),
    }));
  }

  /** The texts of the messages shown, in order. */
  async texts(): Promise<string[]> {
    return this.page.getByTestId("message-text").allTextContents();
  }

  /** data-seq of every message shown, in order ("" while pending). */
  async seqs(): Promise<string[]> {
    return this.messages.evaluateAll((els) => els.map((el) => el.getAttribute("data-seq") ?? ""));
  }
}
