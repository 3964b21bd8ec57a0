// The prompt and program editors: insert a template variable at the cursor, and jump to the
// line an error names (select it in the code). Text goes into the textarea as text only.

function lineRange(text, line) {
  let start = 0;
  for (let n = 1; n < line; n += 1) {
    const next = text.indexOf("\n", start);
    if (next < 0) return [text.length, text.length];
    start = next + 1;
  }
  const end = text.indexOf("\n", start);
  return [start, end < 0 ? text.length : end];
}

export function gotoLine(area, line) {
  const [start, end] = lineRange(area.value, line);
  area.focus();
  area.setSelectionRange(start, end);
  const lineHeight = area.scrollHeight / Math.max(1, area.value.split("\n").length);
  area.scrollTop = Math.max(0, (line - 3) * lineHeight);
  area.dataset.errorLine = String(line);
}

function insertAtCursor(area, text) {
  const { selectionStart: a, selectionEnd: b, value } = area;
  area.value = value.slice(0, a) + text + value.slice(b);
  area.focus();
  area.setSelectionRange(a + text.length, a + text.length);
}

document.addEventListener("click", (e) => {
  const el = e.target.closest("button[data-target]");
  if (!el) return;
  const area = document.getElementById(el.dataset.target);
  if (!area) return;
  if (el.classList.contains("insert-var")) insertAtCursor(area, el.dataset.insert);
  if (el.classList.contains("goto-line")) gotoLine(area, Number(el.dataset.line));
});

// After a validation, the first error with a line is marked in the editor at once.
document.addEventListener("htmx:afterSettle", (e) => {
  const first = e.target.querySelector?.("button.goto-line[data-line]");
  const area = first && document.getElementById(first.dataset.target);
  if (area) gotoLine(area, Number(first.dataset.line));
});
