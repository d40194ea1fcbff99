/**
 * Hooktide's wire types, as `hooktide schema event` and `hooktide schema reply` describe them
 * (schemas/webhook-event.json, schemas/webhook-reply.json). Each travels as one Temporal
 * payload with metadata `encoding: json/plain`: the SDK's default data converter reads and
 * writes it as it is.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One verified delivery: the argument of the update (and signal) `webhook`. */
export interface WebhookEvent {
  route: string;
  delivery_id: string;
  /** ISO 8601 with an offset, e.g. `2026-12-01T12:04:25.694120Z` (microseconds). */
  received_at: string;
  method?: string;
  path_params?: Record<string, string>;
  query?: Record<string, string[]>;
  headers?: Record<string, string>;
  content_type?: string | null;
  body?: JsonValue;
  /** The bytes of a body that is not JSON or a form: base64url, padded. */
  raw_body?: string | null;
  event_type?: string | null;
  rule?: string | null;
  full_body?: JsonValue;
}

/** What the update returns; the gateway answers the sender's request with it. */
export interface WebhookReply {
  /** 200 to 599; 200 when absent. */
  status?: number;
  headers?: Record<string, string>;
  body?: JsonValue;
}
