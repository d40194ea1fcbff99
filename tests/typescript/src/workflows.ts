/**
 * A ticket thread in TypeScript, for a Hooktide route in mode `signal_with_start` (signal
 * `webhook`) or `update` (update-with-start, update `webhook`, update id = delivery id).
 * Each event's `body.comment` joins the thread; an update's reply echoes what the workflow
 * read from the event, so a test can tell the event crossed the wire intact. An event with
 * `body.close` set ends the thread; an update whose `body.reject` is set is refused.
 */
import { allHandlersFinished, condition, defineSignal, defineUpdate, setHandler, workflowInfo } from '@temporalio/workflow';
import type { JsonValue, WebhookEvent, WebhookReply } from './contract';

export const webhookSignal = defineSignal<[WebhookEvent]>('webhook');
export const webhookUpdate = defineUpdate<WebhookReply, [WebhookEvent]>('webhook');

export interface TicketSummary {
  ticket: string;
  deliveries: string[];
  comments: string[];
}

type JsonObject = { [key: string]: JsonValue };

function fields(body: JsonValue | undefined): JsonObject {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {};
}

export async function TsTicketWorkflow(started?: WebhookEvent): Promise<TicketSummary> {
  const ticket = workflowInfo().workflowId;
  const deliveries: string[] = [];
  const comments: string[] = [];
  let closed = false;

  // Signals carry no id that Temporal dedupes on: a sender's retry is dropped here.
  const take = (event: WebhookEvent): JsonObject => {
    const body = fields(event.body);
    if (!deliveries.includes(event.delivery_id)) {
      deliveries.push(event.delivery_id);
      if (typeof body.comment === 'string') comments.push(body.comment);
      closed ||= body.close === true;
    }
    return body;
  };

  if (started) take(started);
  setHandler(webhookSignal, (event) => {
    take(event);
  });
  setHandler(
    webhookUpdate,
    (event): WebhookReply => {
      const body = take(event);
      return {
        status: typeof body.status === 'number' ? body.status : 200,
        headers: { 'x-hooktide-worker': 'typescript', 'x-delivery-id': event.delivery_id },
        body: {
          ticket,
          route: event.route,
          delivery_id: event.delivery_id,
          // Parsed and printed again: the ISO 8601 string survived as a date.
          received_at: new Date(event.received_at).toISOString(),
          path_ticket: event.path_params?.ticket ?? null,
          content_type: event.content_type ?? null,
          comments: [...comments],
        },
      };
    },
    {
      // A refusal here is written nowhere: the gateway answers 422 with its message.
      validator: (event) => {
        if (typeof event?.delivery_id !== 'string' || typeof event.received_at !== 'string') {
          throw new Error('not a WebhookEvent');
        }
        if (fields(event.body).reject === true) throw new Error('the TypeScript validator refused it');
      },
    },
  );

  await condition(() => closed && allHandlersFinished());
  return { ticket, deliveries, comments };
}
