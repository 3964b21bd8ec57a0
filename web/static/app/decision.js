// The decision page: Copy and Download for the prompt, the raw answer, a program's output and
// the logs. The text is read from the page (textContent: never parsed as markup) and
// downloaded as a text/plain Blob, so nothing needs an inline script or a second request.

function textOf(id) {
  return document.getElementById(id)?.textContent ?? "";
}

function flash(button, text) {
  const was = button.textContent;
  button.textContent = text;
  setTimeout(() => {
    button.textContent = was;
  }, 1500);
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(textOf(button.dataset.copy));
      flash(button, "Copied");
    } catch {
      flash(button, "Copy failed"); // no clipboard (plain HTTP from another host): select it
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      window.getSelection()?.removeAllRanges();
      window.getSelection()?.addRange(range);
    }
  });
}

for (const button of document.querySelectorAll("button[data-download]")) {
  button.addEventListener("click", () => {
    const blob = new Blob([textOf(button.dataset.download)], { type: "text/plain;charset=utf-8" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.dataset.filename || "decision.txt";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });
}
