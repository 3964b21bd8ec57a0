// The AI Traders screen: every pushed event re-renders its trader's row from the server (the
// same HTML the page was built with: one source of truth for every number), and every
// (re)connect reloads the whole list as a fresh snapshot.

import { LiveStream } from "./live.js";

const list = document.getElementById("trader-list");
const DEBOUNCE_MS = 250;
const waiting = new Map();
// Traders the list did not show after a reload for them (hidden from the dashboard): their
// events reload nothing more until the next reconnect.
const absent = new Set();

function rowOf(id) {
  return list.querySelector(`[data-testid="trader-row"][data-account-id="${Number(id)}"]`);
}

function refreshAll() {
  absent.clear();
  return window.htmx.ajax("GET", "/traders/rows", { target: list, swap: "innerHTML" });
}

function refreshRow(id) {
  clearTimeout(waiting.get(id));
  waiting.set(
    id,
    setTimeout(() => {
      waiting.delete(id);
      const row = rowOf(id);
      if (!row) {
        if (absent.has(id)) return;
        refreshAll().then(() => rowOf(id) || absent.add(id)); // a trader new to this page
      } else if (row.querySelector(".htmx-request")) {
        refreshRow(id); // a button's request is in flight: its answer re-renders the row
      } else {
        window.htmx.ajax("GET", `/traders/${Number(id)}/row`, { target: row, swap: "outerHTML" });
      }
    }, DEBOUNCE_MS),
  );
}

function onEvent(msg) {
  if (msg.type === "snapshot") {
    refreshAll(); // the server could not replay what this socket missed
    return;
  }
  const id = msg.data?.account_id;
  if (Number.isInteger(id)) refreshRow(id);
}

new LiveStream({
  channels: ["trades", "positions", "model_chat", "asset_curve"],
  onEvent,
  onOpen: refreshAll,
}).start();
