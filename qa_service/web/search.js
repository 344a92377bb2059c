// The search box over /v1/search, with a filter by report.
import { getJSON } from "./api.js";
import { byId, clear, el } from "./dom.js";
import { onLangChange, t } from "./i18n.js";
import { onDocuments, openDocument } from "./reports.js";

let last = null; // the results shown

export function initSearch() {
  onDocuments(fillFilter);
  onLangChange(() => { if (last) showResults(last); });
  byId("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
}

function fillFilter(docs) {
  const select = byId("search-doc");
  const keep = select.value;
  for (const option of [...select.options].slice(1)) option.remove();
  for (const doc of docs) {
    const label = doc.date ? `${doc.title}（${doc.date}）` : doc.title;
    select.append(el("option", { value: doc.id }, label));
  }
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

async function search() {
  const q = byId("search-q").value.trim();
  const out = clear(byId("search-results"));
  last = null;
  if (!q) return;
  const params = new URLSearchParams({ q, top_k: "10" });
  const docId = byId("search-doc").value;
  if (docId) params.set("doc_ids", docId);
  out.setAttribute("aria-busy", "true");
  try {
    const { results } = await getJSON(`/v1/search?${params}`);
    showResults(results);
  } catch (err) {
    out.append(el("p", { class: "error" }, t("chat.error") + err.message));
  } finally {
    out.removeAttribute("aria-busy");
  }
}

function showResults(results) {
  last = results;
  const out = clear(byId("search-results"));
  out.append(el("p", { class: "meta" }, results.length ? t("search.count", { n: results.length }) : t("search.none")));
  out.append(el("ol", { class: "results" }, results.map(resultItem)));
}

function resultItem(r) {
  const path = [...r.heading_path];
  if (path[0] === r.doc_title) path.shift();
  const open = el("button", { type: "button", class: "link", "aria-label": `${t("search.open")}：${r.doc_title} ${path.join(" > ")}` },
    t("search.open"));
  open.addEventListener("click", () => openResult(r.passage_id));
  return el("li", { class: "result" },
    el("div", { class: "result-head" }, el("strong", {}, `《${r.doc_title}》`), path.length ? ` ${path.join(" > ")}` : ""),
    el("p", { class: "snippet" }, r.text.length > 240 ? `${r.text.slice(0, 240)}…` : r.text),
    open);
}

/** A result opens its report in the document view, the passage highlighted. */
async function openResult(passageId) {
  try {
    const p = await getJSON(`/v1/passages/${encodeURIComponent(passageId)}`);
    await openDocument(p.doc_id, [p.start, p.end]);
  } catch (err) {
    byId("search-results").append(el("p", { class: "error" }, t("chat.error") + err.message));
  }
}
