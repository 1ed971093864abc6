// A webhook receiver that checks each delivery with the official Standard Webhooks library
// (`standardwebhooks` from npm), as a dApp would. Usage: node receiver.mjs PORT
//
//   POST /configure/:name  {"secret": "whsec_…", "status": 204, "delay_ms": 0}
//                          sets hook :name's secret, the status it answers a verified delivery
//                          with (e.g. 500 to make the relayer retry) and a delay
//   POST /hook/:name       a delivery: verified with the hook's secret (signature and a
//                          timestamp within 5 minutes); 400 with the library's error if not
//   GET  /received/:name   {"accepted": [{id, timestamp, signature, body}],
//                           "rejected": [{reason, id, timestamp, signature, body}]}
//
// With --print, every verified delivery is also printed (the local stack's demo).
import http from "node:http";
import { Webhook } from "standardwebhooks";

const port = Number(process.argv[2] ?? 8090);
const print = process.argv.includes("--print");
const hooks = new Map();

function hook(name) {
  if (!hooks.has(name)) {
    hooks.set(name, { secret: null, status: 204, delayMs: 0, accepted: [], rejected: [] });
  }
  return hooks.get(name);
}

function reply(res, status, body) {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json" });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const [, verb, name] = req.url.split("/");
    try {
      if (req.method === "POST" && verb === "configure" && name) {
        const config = JSON.parse(body || "{}");
        const h = hook(name);
        if ("secret" in config) h.secret = config.secret;
        if ("status" in config) h.status = config.status;
        if ("delay_ms" in config) h.delayMs = config.delay_ms;
        return reply(res, 200, { ok: true });
      }
      if (req.method === "GET" && verb === "received" && name) {
        const h = hook(name);
        return reply(res, 200, { accepted: h.accepted, rejected: h.rejected });
      }
      if (req.method === "POST" && verb === "hook" && name) {
        const h = hook(name);
        if (h.delayMs > 0) await new Promise((r) => setTimeout(r, h.delayMs));
        try {
          if (!h.secret) throw new Error("no secret configured");
          new Webhook(h.secret).verify(body, req.headers);
        } catch (error) {
          h.rejected.push({
            reason: String(error?.message ?? error),
            id: req.headers["webhook-id"],
            timestamp: req.headers["webhook-timestamp"],
            signature: req.headers["webhook-signature"],
            body,
          });
          return reply(res, 400, { error: String(error?.message ?? error) });
        }
        const delivery = {
          id: req.headers["webhook-id"],
          timestamp: req.headers["webhook-timestamp"],
          signature: req.headers["webhook-signature"],
          body,
        };
        h.accepted.push(delivery);
        if (print) {
          const event = JSON.parse(body);
          console.log(`webhook ${name}: ${event.type} ${event.subject} (${delivery.id}, signature verified)`);
        }
        return reply(res, h.status, h.status === 204 ? undefined : { status: h.status });
      }
      reply(res, 404, { error: "not found" });
    } catch (error) {
      reply(res, 500, { error: String(error) });
    }
  });
});

server.listen(port, "127.0.0.1", () => {
  console.log(`webhook receiver listening on http://127.0.0.1:${port}`);
});
