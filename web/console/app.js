// The console: a hash router over four pages; each page renders into <main> and may
// leave a cleanup (timers, sockets) that runs when the page changes.
import { setToken, token } from "./api.js";
import { groupsPage } from "./pages/groups.js";
import { healthPage } from "./pages/health.js";
import { messagesPage } from "./pages/messages.js";
import { topicsPage } from "./pages/topics.js";
import { clearNotice, h, notify } from "./ui.js";

const PAGES = { topics: topicsPage, messages: messagesPage, groups: groupsPage, health: healthPage };
let cleanup = null;

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  clearNotice();
  const [name = "topics", ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const page = PAGES[name] ? name : "topics";
  for (const link of document.querySelectorAll("nav a[data-page]"))
    link.toggleAttribute("aria-current", link.dataset.page === page) &&
      link.setAttribute("aria-current", "page");
  const main = document.getElementById("page");
  main.replaceChildren();
  if ((await config()).auth === "required" && !token()) {
    // Nothing to show without a credential; calling the API would only be refused.
    main.append(
      h("h1", {}, "A token is needed"),
      h(
        "p",
        {},
        "This gateway requires credentials: paste a token (the admin secret, an API key or a scoped token) in the Token box above.",
      ),
    );
    input.focus();
    return;
  }
  cleanup =
    (await PAGES[page](
      main,
      args.filter((a) => a !== ""),
    )) ?? null;
  main.focus();
}

let configured = null;
/** The gateway's console configuration, asked once. */
async function config() {
  configured ??= fetch("config.json")
    .then((res) => res.json())
    .catch(() => ({ auth: "none" }));
  return configured;
}

const form = document.getElementById("token-form");
const input = document.getElementById("token");
input.value = token();
form.addEventListener("submit", (event) => {
  event.preventDefault();
  setToken(input.value.trim());
  notify(input.value.trim() ? "Token kept for this tab." : "No token.", true);
  route();
});
document.getElementById("token-clear").addEventListener("click", () => {
  input.value = "";
  setToken("");
  route();
});
window.addEventListener("hashchange", route);
route();
