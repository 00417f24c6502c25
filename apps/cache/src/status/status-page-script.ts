/**
 * The status page's only script: every second it fetches the server-rendered <main> and swaps
 * it in, so the page updates without a reload. When a fetch fails it says so and keeps trying.
 */
export const statusPageScript = `"use strict";
(() => {
  const page = document.body.dataset.page;
  const main = document.querySelector("main");
  let failing = false;
  async function refresh() {
    try {
      const response = await fetch(page + "/fragment", { cache: "no-store", credentials: "same-origin" });
      if (!response.ok) throw new Error("the cache answered " + response.status);
      main.innerHTML = await response.text();
      failing = false;
    } catch (error) {
      if (!failing) {
        const note = document.createElement("p");
        note.className = "warnings";
        note.textContent = "updates stopped: " + error.message + " (retrying)";
        main.prepend(note);
      }
      failing = true;
    } finally {
      setTimeout(refresh, 1000);
    }
  }
  setTimeout(refresh, 1000);
})();
`;
