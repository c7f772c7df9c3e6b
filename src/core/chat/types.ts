// The chat provider's own words for a conversation, free of VS Code's classes: the glue in
// src/vscode/chatProvider.ts turns VS Code's parts into these, and the core turns these into a
// gateway request (wire.ts) and the gateway's stream back into parts (stream.ts).

export type ChatRole = 'system' | 'user' | 'assistant';

/** Binary content: an image, or data VS Code attached (JSON, text). */
export interface ChatData {
  kind: 'data';
  mimeType: string;
  data: Uint8Array;
}

export interface ChatText {
  kind: 'text';
  text: string;
}

export interface ChatToolCall {
  kind: 'toolCall';
  callId: string;
  name: string;
  input: unknown;
}

export interface ChatToolResult {
  kind: 'toolResult';
  callId: string;
  /** Text and data parts, in order; anything else was already turned into text by the glue. */
  content: Array<ChatText | ChatData>;
  isError?: boolean;
}

export type ChatPart = ChatText | ChatData | ChatToolCall | ChatToolResult;

export interface ChatMessage {
  role: ChatRole;
  content: ChatPart[];
}

export interface ChatTool {
  name: string;
  description: string;
  /** JSON schema of the input; undefined: no input. */
  inputSchema?: unknown;
}

/** 'required': the model must call a tool (VS Code's LanguageModelChatToolMode.Required). */
export type ToolMode = 'auto' | 'required';

/** The two request formats the DaiDai gateway speaks. */
export type WireFormat = 'anthropic' | 'openai';

/** What a streamed answer yields, in order. */
export type ChatOutput =
  | { kind: 'text'; text: string }
  | { kind: 'toolCall'; callId: string; name: string; input: Record<string, unknown> };
