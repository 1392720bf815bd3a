// A TypeScript client of orderdesk, typed by openapi-typescript from the
// served OpenAPI document (schema.d.ts) and called through openapi-fetch.
// CI regenerates schema.d.ts and compiles this file with tsc: a contract
// change that breaks a TypeScript client (a renamed field, parameter or
// operation) fails CI. `calls` must name every operation of the document.
import createClient from "openapi-fetch";
import type { components, operations, paths } from "./schema";

type Client = ReturnType<typeof createClient<paths>>;
type Order = components["schemas"]["Order"];
type Problem = components["schemas"]["Problem"];

export function orderdesk(baseUrl: string, apiKey: string): Client {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
}

// describe reads what the CRM shows for an order.
export function describe(o: Order): string {
  const customer = o.customer ? `${o.customer.first_name} ${o.customer.last_name}` : "guest";
  const eta = o.shipment?.estimated_delivery_at ?? "";
  return `${o.name} ${customer}: ${o.labels.status}, ${o.labels.financial_status}, ${o.labels.fulfillment_status} ${eta} (${o.total_price} ${o.currency})`;
}

function problem(p: Problem | undefined): string {
  return p ? `${p.status} ${p.code}: ${p.detail ?? p.title}` : "";
}

const key = { "Idempotency-Key": "refund-1", "X-Agent-Id": "agent-7" };

export const calls: { [K in keyof operations]: (c: Client) => Promise<string> } = {
  getHealthz: async (c) => (await c.GET("/healthz")).data?.status ?? "",
  getReadyz: async (c) => {
    const { data, error } = await c.GET("/readyz");
    return data?.status ?? problem(error);
  },
  listOrders: async (c) => {
    const { data, error } = await c.GET("/orders", {
      params: { query: { customer_id: 207119551, status: "open", limit: 20, updated_since: "2026-11-01T00:00:00Z" } },
    });
    if (!data) return problem(error);
    const next = data.next_cursor ?? "";
    return data.orders.map(describe).join("\n") + next;
  },
  getOrder: async (c) => {
    const { data, error } = await c.GET("/orders/{id}", { params: { path: { id: 450789469 }, query: { refresh: true } } });
    return data ? describe(data) : problem(error);
  },
  previewCancel: async (c) => {
    const { data, error } = await c.GET("/orders/{id}/cancel", { params: { path: { id: 450789470 } } });
    return data ? `${data.cancellable} ${data.refund.max_amount} ${data.reasons.map((r) => r.code).join(",")}` : problem(error);
  },
  cancelOrder: async (c) => {
    const { data, error } = await c.POST("/orders/{id}/cancel", {
      params: { path: { id: 450789470 }, header: key },
      body: { reason: "customer", refund: { mode: "amount", amount: "10.00" }, restock: true, notify_customer: true, staff_note: "called" },
    });
    return data ? `${data.action.status} ${data.action.parts.cancel} ${describe(data.order)}` : problem(error);
  },
  previewRefund: async (c) => {
    const { data, error } = await c.GET("/orders/{id}/refund", { params: { path: { id: 450789481 } } });
    return data ? `${data.refundable} ${data.max_amount} ${data.requires_return} ${data.shipping.max_amount}` : problem(error);
  },
  refundOrder: async (c) => {
    const { data, error, response } = await c.POST("/orders/{id}/refund", {
      params: { path: { id: 450789481 }, header: key },
      body: { line_items: [{ line_item_id: 4507894810, quantity: 1, restock: true }], shipping: { full: true }, return: "received", note: "damaged" },
    });
    const replayed = response.headers.get("Idempotent-Replayed") === "true";
    return data ? `${data.action.amount ?? ""} ${data.action.shopify_refund_id ?? ""} ${replayed}` : problem(error);
  },
  listActions: async (c) => {
    const { data, error } = await c.GET("/orders/{id}/actions", { params: { path: { id: 450789481 } } });
    return data ? data.actions.map((a) => `${a.kind} ${a.status} ${a.created_at}`).join("\n") : problem(error);
  },
  getAction: async (c) => {
    const { data, error } = await c.GET("/orders/{id}/actions/{action_id}", {
      params: { path: { id: 450789481, action_id: "3f0e9c43-5d2b-4f3c-9a51-6a8e0f3b7c21" } },
    });
    return data ? `${data.kind} ${data.status} ${data.parts.refund}` : problem(error);
  },
  getTimeline: async (c) => {
    const { data, error } = await c.GET("/customers/{id}/timeline", { params: { path: { id: 207119551 }, query: { limit: 50 } } });
    return data ? data.events.map((e) => `${e.occurred_at} ${e.type} ${e.summary}`).join("\n") : problem(error);
  },
  listEventEndpoints: async (c) => {
    const { data, error } = await c.GET("/event-endpoints");
    return data ? data.endpoints.map((e) => `${e.id} ${e.url} ${e.state} ${e.disabled_reason ?? ""}`).join("\n") : problem(error);
  },
  createEventEndpoint: async (c) => {
    const { data, error } = await c.POST("/event-endpoints", {
      body: { url: "https://crm.example.com/orderdesk/events", types: ["order.refunded", "action.succeeded"] },
    });
    return data ? `${data.endpoint.id} ${data.secret}` : problem(error);
  },
  getEventEndpoint: async (c) => {
    const { data, error } = await c.GET("/event-endpoints/{id}", { params: { path: { id: "ep_1" } } });
    return data ? data.recent_attempts.map((a) => `${a.event_type} ${a.status ?? "no answer"} ${a.latency_ms}ms ${a.error ?? ""}`).join("\n") : problem(error);
  },
  deleteEventEndpoint: async (c) => {
    const { error, response } = await c.DELETE("/event-endpoints/{id}", { params: { path: { id: "ep_1" } } });
    return error ? problem(error) : `${response.status}`;
  },
  enableEventEndpoint: async (c) => {
    const { data, error } = await c.POST("/event-endpoints/{id}/enable", { params: { path: { id: "ep_1" } } });
    return data ? data.state : problem(error);
  },
  rotateEventEndpointSecret: async (c) => {
    const { data, error } = await c.POST("/event-endpoints/{id}/rotate-secret", { params: { path: { id: "ep_1" } } });
    return data ? `${data.secret} ${data.endpoint.previous_secret_until ?? ""}` : problem(error);
  },
  listEvents: async (c) => {
    const { data, error } = await c.GET("/events", { params: { query: { type: "order.refunded", order_id: 450789469, limit: 20 } } });
    if (!data) return problem(error);
    return data.events.map((e) => `${e.sequence} ${e.type} ${e.order.name} ${e.refund?.amount ?? ""} ${e.action?.outcome.refunded ?? ""}`).join("\n");
  },
  redeliverEvent: async (c) => {
    const { data, error } = await c.POST("/events/{id}/redeliver", { params: { path: { id: "evt_1" } } });
    return data ? `${data.event_id} ${data.endpoints.join(",")}` : problem(error);
  },
  startShopifyInstall: async (c) => {
    const { data, error } = await c.GET("/shopify/install", {
      params: { query: { shop: "example.myshopify.com" } },
      headers: { Accept: "application/json" },
    });
    return data ? `${data.authorize_url} ${data.expires_in}` : problem(error);
  },
  finishShopifyInstall: async (c) => {
    const { data, error } = await c.GET("/shopify/callback", {
      params: { query: { shop: "example.myshopify.com", code: "code", state: "state", hmac: "hex", timestamp: "1764590000" } },
    });
    return data ? `${data.shop.domain} ${data.shop.state} ${data.shop.scopes.join(",")}: ${data.next}` : problem(error);
  },
  receiveShopifyWebhook: async (c) => {
    const { data, error } = await c.POST("/webhooks/shopify", {
      params: {
        header: {
          "X-Shopify-Hmac-Sha256": "base64",
          "X-Shopify-Topic": "orders/updated",
          "X-Shopify-Shop-Domain": "example.myshopify.com",
          "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        },
      },
      body: { id: 450789469, updated_at: "2026-11-21T08:30:00-05:00" },
    });
    return data?.status ?? problem(error);
  },
};
