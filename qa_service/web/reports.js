// The reports: the list (title, date, reporter, counts) and one report's outline and cleaned text.
import { getJSON } from "./api.js";
import { byId, clear, el } from "./dom.js";
import { onLangChange, t } from "./i18n.js";
import { documentWithText } from "./source.js";
import { renderText, scrollWithin } from "./textview.js";

let list = [];
const listeners = [];
let shown = null; // the document in the view

onLangChange(() => { if (shown) showMeta(shown); });

/** Call `fn(documents)` whenever the list is (re)loaded: the search filter and management follow it. */
export function onDocuments(fn) {
  listeners.push(fn);
}

export function documents() {
  return list;
}

export async function loadDocuments() {
  list = await getJSON("/v1/documents");
  renderTable();
  listeners.forEach((fn) => fn(list));
  return list;
}

function renderTable() {
  const body = clear(byId("doc-table").tBodies[0]);
  for (const doc of list) {
    const open = el("button", { type: "button", class: "link", dataset: { docId: doc.id } }, doc.title);
    open.addEventListener("click", () => openDocument(doc.id));
    body.append(el("tr", {},
      el("td", {}, open),
      el("td", {}, doc.date || "—"),
      el("td", {}, doc.reporter || "—"),
      el("td", { class: "num" }, String(doc.n_sections)),
      el("td", { class: "num" }, String(doc.n_chunks))));
  }
}

/** Show one report: its outline as a tree of buttons and its text; `passage` [start, end) is highlighted. */
export async function openDocument(docId, passage = null) {
  const doc = await documentWithText(docId);
  const view = byId("doc-view");
  view.hidden = false;
  byId("doc-title").textContent = doc.title;
  shown = doc;
  showMeta(doc);
  const starts = [];
  collectStarts(doc.outline || [], starts);
  const box = byId("doc-text");
  const made = renderText(box, doc.text || "", { passage, anchors: starts });
  renderOutline(doc.outline || [], box, made.anchors);
  byId("doc-title").focus({ preventScroll: true });
  view.scrollIntoView({ block: "start" });
  if (made.passage) scrollWithin(box, made.passage);
  else box.scrollTop = 0;
}

function showMeta(doc) {
  byId("doc-meta").textContent = t("doc.meta", {
    date: doc.date || "—", reporter: doc.reporter || "—", sections: doc.n_sections, passages: doc.n_chunks,
  });
}

function collectStarts(nodes, starts) {
  for (const node of nodes) {
    if (Number.isInteger(node.start)) starts.push(node.start);
    collectStarts(node.children || [], starts);
  }
}

function renderOutline(outline, box, anchors) {
  const root = clear(byId("doc-outline").querySelector("ul"));
  const nodes = outlineNodes(outline);
  if (!nodes.length) {
    root.append(el("li", { class: "muted" }, t("doc.noOutline")));
    return;
  }
  const build = (items) => items.map((node) => {
    const go = el("button", { type: "button", class: "link", dataset: { start: node.start } }, node.heading);
    go.addEventListener("click", () => {
      const anchor = anchors.get(node.start);
      if (anchor) scrollWithin(box, anchor, 0); // the section's heading at the top of the text
      byId("doc-outline").querySelectorAll("[aria-current]").forEach((b) => b.removeAttribute("aria-current"));
      go.setAttribute("aria-current", "location");
    });
    const kids = outlineNodes(node.children || []);
    return el("li", {}, go, kids.length ? el("ul", {}, build(kids)) : null);
  });
  root.append(...build(nodes));
}

/** The headings to list: a level-0 root (the title itself) is skipped, its children listed instead. */
function outlineNodes(nodes) {
  return nodes.flatMap((n) => (n.level === 0 ? outlineNodes(n.children || []) : [n]));
}
