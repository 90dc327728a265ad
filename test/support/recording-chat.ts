/**
 * A chat surface that records what the engine posts, like the fake Slack
 * server does over HTTP, for engine tests that need no Slack at all.
 */
import type { ChatMessage, ChatPort, MessageRef } from '../../src/chat/port.ts';

export interface RecordedMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  message: ChatMessage;
  history: ChatMessage[];
}

export class RecordingChat implements ChatPort {
  readonly messages: RecordedMessage[] = [];
  readonly ephemerals: { channel: string; user: string; message: ChatMessage }[] = [];
  private seq = 0;

  async post(channel: string, message: ChatMessage, threadTs?: string): Promise<MessageRef> {
    const ts = `1700000000.${String(++this.seq).padStart(6, '0')}`;
    this.messages.push({ channel, ts, threadTs, message, history: [message] });
    return { channel, ts };
  }

  async update(ref: MessageRef, message: ChatMessage): Promise<void> {
    const found = this.messages.find((m) => m.ts === ref.ts && m.channel === ref.channel);
    if (!found) throw new Error(`update of unknown message ${ref.ts}`);
    found.message = message;
    found.history.push(message);
  }

  async ephemeral(channel: string, user: string, message: ChatMessage): Promise<void> {
    this.ephemerals.push({ channel, user, message });
  }

  async uploadFile(): Promise<void> {}

  async usergroupMembers(): Promise<string[]> {
    return [];
  }

  thread(parentTs: string): RecordedMessage[] {
    return this.messages.filter((m) => m.threadTs === parentTs);
  }

  parents(): RecordedMessage[] {
    return this.messages.filter((m) => !m.threadTs);
  }

  async waitFor<T>(probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value) return value;
      if (Date.now() > until) throw new Error('timed out waiting for a chat message');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
