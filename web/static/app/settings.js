// The Settings page: each choice is written to localStorage at once and applied to this page.

import { applyTimes } from "./app.js";
import { MONEY_KEY, THEME_KEY, applyMoney, applyTheme, moneyPlaces, theme } from "./prefs.js";

const TZ_KEY = "hyperoru.timezone";
const form = document.getElementById("settings-form");
const saved = document.getElementById("settings-saved");

function show() {
  form.elements.theme.value = theme();
  form.elements.timezone.value = localStorage.getItem(TZ_KEY) === "local" ? "local" : "utc";
  form.elements.money_places.value = String(moneyPlaces());
}

form.addEventListener("submit", (e) => e.preventDefault());
form.addEventListener("change", (e) => {
  const el = e.target;
  if (el.name === "theme") localStorage.setItem(THEME_KEY, el.value);
  if (el.name === "timezone") localStorage.setItem(TZ_KEY, el.value);
  if (el.name === "money_places") localStorage.setItem(MONEY_KEY, el.value);
  applyTheme();
  applyTimes();
  applyMoney();
  saved.textContent = "Saved in this browser.";
});
// The header's UTC/local button changes the same setting: keep the choice shown in step.
document.getElementById("tz-toggle")?.addEventListener("click", () => setTimeout(show));
show();
