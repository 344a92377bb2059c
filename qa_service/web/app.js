// The page's start: language, access (API key and role), views, and the wiring between them.
import { whoAmI } from "./api.js";
import { askForKey, storedKey } from "./auth.js";
import { initChat } from "./chat.js";
import { byId } from "./dom.js";
import { currentLang, initialLang, onLangChange, setLang, t } from "./i18n.js";
import { initManage } from "./manage.js";
import { loadDocuments, openDocument } from "./reports.js";
import { initSearch } from "./search.js";
import { closeSource, initSource, openCitation } from "./source.js";

let access = { keys_required: false, role: null };

function showView(name) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const selected = tab.dataset.view === name;
    tab.setAttribute("aria-selected", String(selected));
    byId(`view-${tab.dataset.view}`).hidden = !selected;
  }
  document.body.dataset.view = name;
  if (name !== "chat") closeSource(); // the source panel belongs to the conversation
}

function showRole() {
  const badge = byId("role-badge");
  badge.hidden = !access.role;
  badge.textContent = access.role ? t(`role.${access.role}`) : "";
  byId("key-button").hidden = !access.keys_required;
  const admin = access.role === "admin";
  byId("tab-manage").hidden = !admin;
  if (!admin && document.body.dataset.view === "manage") showView("chat");
}

/** Ask who we are; when a key is needed and ours is missing or refused, ask for one until given or cancelled. */
async function checkAccess() {
  access = await whoAmI();
  while (access.keys_required && !access.role) {
    // A stored key that gives no role was refused: say so.
    if (!(await askForKey(Boolean(storedKey())))) break;
    access = await whoAmI();
  }
  showRole();
  return Boolean(access.role);
}

/** Called after a 401 or 403: a 401 asks for a (new) key and reloads what the key unlocks. */
async function onUnauthorized(status) {
  if (status !== 401) return false;
  const ok = await checkAccess();
  if (ok) await loadDocuments().catch(() => {});
  return ok;
}

async function start() {
  setLang(initialLang());
  byId("lang-toggle").addEventListener("click", () => setLang(currentLang() === "en" ? "zh" : "en"));
  onLangChange(showRole);
  for (const tab of document.querySelectorAll("[role=tab]")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  byId("key-button").addEventListener("click", askAgain);
  initSource({ onOpenDocument: (docId, passage) => { showView("reports"); openDocument(docId, passage); } });
  initChat({ onCite: (citation, link) => openCitation(citation, link), onUnauthorized });
  initSearch();
  initManage({ onUnauthorized });
  showView("chat");
  let ok = false;
  try {
    ok = await checkAccess();
  } catch (err) {
    console.error(err);
  }
  if (ok) await loadDocuments().catch((err) => console.error(err));
  document.body.dataset.ready = "true";
  byId("question").focus();
}

/** The key button: change the key on demand, then reload what it unlocks. */
async function askAgain() {
  if (!(await askForKey(false))) return;
  if (await checkAccess()) await loadDocuments().catch(() => {});
}

start();
