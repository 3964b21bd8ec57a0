// Loaded as a classic script in <head> (not deferred): applies the theme chosen in Settings
// before the first paint, so a dark choice never flashes light. prefs.js keeps it in step.
(function () {
  try {
    const t = localStorage.getItem("hyperoru.theme");
    if (t === "light" || t === "dark") document.documentElement.dataset.theme = t;
  } catch (e) {
    // storage disabled: the system's theme, as without a choice
  }
})();
