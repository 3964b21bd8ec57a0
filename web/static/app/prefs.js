// Display preferences kept in this browser (localStorage; never a token): the theme and how
// many decimals money shows. The time zone is app.js's ("hyperoru.timezone"). Every page's
// module imports this, so a choice made on /settings holds on every page.

export const THEME_KEY = "hyperoru.theme";
export const MONEY_KEY = "hyperoru.money_places";
const THEMES = ["system", "light", "dark"];
const PLACES = [0, 2, 4, 6, 8];

export function theme() {
  const t = localStorage.getItem(THEME_KEY);
  return THEMES.includes(t) ? t : "system";
}

export function moneyPlaces() {
  const n = Number(localStorage.getItem(MONEY_KEY) ?? "2");
  return PLACES.includes(n) ? n : 2;
}

export function applyTheme() {
  const t = theme();
  if (t === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

// A decimal string at `places` decimals with thousands separators, rounded half away from
// zero on the string itself (no float: "0.125" at 2 places is "0.13").
export function moneyText(value, places = moneyPlaces()) {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(String(value).trim());
  if (!m) return value;
  const [, sign, whole, frac = ""] = m;
  let digits = (whole + frac.padEnd(places + 1, "0").slice(0, places + 1)).split("").map(Number);
  const up = digits.pop() >= 5;
  if (up) {
    let i = digits.length - 1;
    while (i >= 0 && digits[i] === 9) digits[i--] = 0;
    if (i < 0) digits.unshift(1);
    else digits[i] += 1;
  }
  digits = digits.join("");
  const intPart = digits.slice(0, digits.length - places) || "0";
  const grouped = intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const text = places ? `${grouped}.${digits.slice(digits.length - places)}` : grouped;
  return /[1-9]/.test(digits) ? sign + text : text;
}

// Elements marked class="money" with the exact decimal in data-value show it at the chosen
// places; the server renders them at 2, so without a choice nothing changes. Prices marked
// class="price" with data-value and data-decimals (the symbol's price decimals, where the
// venue's rules give them: domain/exchange_rules.py) show at that symbol's precision.
export function applyMoney(root = document) {
  for (const el of root.querySelectorAll(".money[data-value]")) {
    const v = el.dataset.value;
    if (v === "") continue;
    const text = moneyText(v);
    // data-signed: a PnL, shown with its sign ("+12.00") as the server renders it.
    el.textContent = "signed" in el.dataset && /[1-9]/.test(text) && !text.startsWith("-") ? `+${text}` : text;
  }
  for (const el of root.querySelectorAll(".price[data-value][data-decimals]")) {
    const places = Number(el.dataset.decimals);
    if (el.dataset.value !== "" && Number.isInteger(places) && places >= 0 && places <= 12) {
      el.textContent = moneyText(el.dataset.value, places);
    }
  }
}

applyTheme();
applyMoney();
document.addEventListener("htmx:afterSettle", () => applyMoney());
