/**
 * src/chat — the chat surfaces (slack/: Bolt and Block Kit; console/: the REPL of the demo) behind
 * one port (this file): what the engine and the bot core need from a chat surface. Slack and the
 * console both implement it, so runbooks never know which one they talk to.
 */

export interface ConfirmDialog {
  title: string; // <= 100 chars
  text: string; // <= 300 chars
  confirm: string; // <= 30 chars
  deny: string; // <= 30 chars
}

export interface Button {
  /** Visible label: `Approve`, `Reject`, `Roll back`, ... */
  label: string;
  /** Routes the click: `mk8s.approve`, `mk8s.reject`, `mk8s.rollback`. */
  actionId: string;
  /** Opaque, <= 2000 chars; never trusted: the handler re-checks everything. */
  value: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmDialog;
}

/** A message in a neutral form; adapters render it (Block Kit, plain text). */
export interface ChatMessage {
  /** Plain text: Slack's notification fallback and the console's first line. Always set. */
  text: string;
  /** Longer body in Slack mrkdwn (`*bold*`, `code`, ```blocks```); rendered as sections. */
  body?: string;
  /** A small grey line under the body (who, when). */
  context?: string;
  buttons?: Button[];
}

/** The App Home tab, neutral: a section per cluster; Slack renders Block Kit, the console prints it. */
export interface HomeView {
  /** One line over everything ("3 clusters · 2 open alerts"). */
  title: string;
  sections: HomeSection[];
}

export interface HomeSection {
  /** Plain text, ≤ 150 chars (a Slack header). */
  header: string;
  /** mrkdwn, any length (split into sections by the renderer). */
  body: string;
  context?: string;
}

export interface MessageRef {
  channel: string;
  ts: string;
}

export interface ChatPort {
  /** Posts a message in a channel, or as a reply in a thread when threadTs is given. */
  post(channel: string, message: ChatMessage, threadTs?: string): Promise<MessageRef>;
  /** Replaces a message the bot posted (parent or thread reply). */
  update(ref: MessageRef, message: ChatMessage): Promise<void>;
  /** A message only `user` sees. */
  ephemeral(channel: string, user: string, message: ChatMessage): Promise<void>;
  /** Uploads a local file into a thread; the console prints the path instead. */
  uploadFile(channel: string, threadTs: string, path: string, title: string): Promise<void>;
  /** Expands a user-group id (S…) into user ids; the console has none. */
  usergroupMembers(groupId: string): Promise<string[]>;
  /** Publishes a user's App Home tab (Slack views.publish); surfaces without one leave it out. */
  publishHome?(user: string, view: HomeView): Promise<void>;
  /** True while the chat is asking us to slow down (Slack: a 429 came less than a minute ago). */
  rateLimited?(): boolean;
}

/** What an adapter hands the bot core for a `/mk8s ...` command. */
export interface CommandInput {
  user: string;
  channel: string;
  text: string;
}

/** The bot core's answer: an immediate ack and, optionally, slower follow-up work. */
export interface CommandAnswer {
  /** Sent within Slack's 3 s ack window. */
  ack: ChatMessage;
  /** ephemeral (only the requester) or in_channel. Request errors are always ephemeral. */
  visibility: 'ephemeral' | 'in_channel';
  /** Slow read-only work (status over SSH); its result is posted where the ack went. */
  followUp?: () => Promise<ChatMessage>;
}

export interface ActionInput {
  user: string;
  channel: string;
  /** ts of the message that carried the button. */
  messageTs: string;
  actionId: string;
  value: string;
}

export interface BotCore {
  handleCommand(input: CommandInput): Promise<CommandAnswer>;
  /** Returns an ephemeral note for the clicker (why nothing changed, or what happened). */
  handleAction(input: ActionInput): Promise<ChatMessage | undefined>;
  /** The user opened the App Home tab: publish it, and keep it fresh from now on. */
  homeOpened?(user: string): Promise<void>;
}
