// The product's JSON live stream (`/ws`, README "Live stream") for any panel: connects with the
// page's session cookie (same origin), subscribes, reconnects with backoff, and shows its state
// in the `ws-status` element ("live" / "reconnecting") and a banner while it is down. After
// every (re)connect the panel's `onOpen` reloads a fresh snapshot before the state says live,
// so nothing missed while away stays on screen.

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;
const PING_EVERY_MS = 5000;
// No message (not even a pong) for this long: the connection is dead even if not closed.
const SILENT_LIMIT_MS = 12000;
const UNAUTHORIZED = 4401;

export class LiveStream {
  constructor({ channels, onEvent, onOpen }) {
    this.channels = channels;
    this.onEvent = onEvent;
    this.onOpen = onOpen;
    this.status = document.getElementById("ws-status");
    this.banner = document.getElementById("ws-banner");
    this.attempt = 0;
    this.seen = new Set();
    this.ws = null;
    this.timer = null;
  }

  start() {
    this.connect();
  }

  setState(state) {
    if (this.status) {
      this.status.textContent = state;
      this.status.dataset.state = state;
    }
    if (this.banner) this.banner.hidden = state === "live";
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    this.lastHeard = Date.now();
    ws.addEventListener("open", () => this.opened(ws));
    ws.addEventListener("message", (m) => this.received(ws, m));
    ws.addEventListener("close", (e) => this.lost(ws, e.code));
  }

  async opened(ws) {
    this.attempt = 0;
    ws.send(JSON.stringify({ type: "subscribe", data: { channels: this.channels } }));
    this.heartbeat(ws);
    try {
      await this.onOpen();
    } catch {
      // the snapshot failed (server busy): the next event or reconnect loads it again
    }
    if (this.ws === ws && ws.readyState === WebSocket.OPEN) this.setState("live");
  }

  received(ws, m) {
    if (this.ws !== ws) return;
    this.lastHeard = Date.now();
    let msg;
    try {
      msg = JSON.parse(m.data);
    } catch {
      return;
    }
    if (msg.type === "pong") return;
    if (typeof msg.event_id === "number") {
      if (this.seen.has(msg.event_id)) return; // around a reconnect an event can come twice
      this.seen.add(msg.event_id);
      if (this.seen.size > 5000) this.seen = new Set([msg.event_id]);
    }
    this.onEvent(msg);
  }

  heartbeat(ws) {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.ws !== ws) return;
      if (Date.now() - this.lastHeard > SILENT_LIMIT_MS) {
        this.lost(ws, 0);
        ws.close();
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send('{"type": "ping", "data": {}}');
    }, PING_EVERY_MS);
  }

  lost(ws, code) {
    if (this.ws !== ws) return; // an old socket closing late
    this.ws = null;
    clearInterval(this.timer);
    this.setState("reconnecting");
    if (code === UNAUTHORIZED) {
      location.assign("/login"); // signed out (logout, expiry, password change)
      return;
    }
    const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), delay * (0.5 + Math.random() / 2));
  }
}
