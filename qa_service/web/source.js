// The source panel: the cited document, scrolled to the passage, the quote in a <mark>, the heading path as a
// breadcrumb, and previous/next passage navigation.
import { getJSON } from "./api.js";
import { byId, clear, el } from "./dom.js";
import { t } from "./i18n.js";
import { locateQuote, renderText, scrollWithin } from "./textview.js";

const documents = new Map(); // doc_id -> Promise of the document with its text
let state = null; // {passage, quote: {doc_id, text} | null, opener}
let seq = 0;
let openDocument = () => {};

/** The document with its cleaned text, fetched once per page. */
export function documentWithText(docId) {
  if (!documents.has(docId)) {
    const p = getJSON(`/v1/documents/${encodeURIComponent(docId)}?text=true`);
    p.catch(() => documents.delete(docId));
    documents.set(docId, p);
  }
  return documents.get(docId);
}

export function forgetDocuments() {
  documents.clear();
}

export function initSource({ onOpenDocument }) {
  openDocument = onOpenDocument;
  byId("source-close").addEventListener("click", closeSource);
  byId("source-prev").addEventListener("click", () => step("prev_id"));
  byId("source-next").addEventListener("click", () => step("next_id"));
  byId("source-open-doc").addEventListener("click", () => {
    if (state) openDocument(state.passage.doc_id, [state.passage.start, state.passage.end]);
  });
  byId("source-panel").addEventListener("keydown", (e) => {
    if (e.key === "Escape") closeSource();
  });
}

/** Open a citation from an answer: its passage, with its quote marked. */
export function openCitation(citation, opener) {
  return show(citation.passage_id, { doc_id: citation.doc_id, text: citation.quote }, opener);
}

export function closeSource() {
  const panel = byId("source-panel");
  if (panel.hidden) return;
  panel.hidden = true;
  document.body.classList.remove("source-open");
  const opener = state?.opener;
  state = null;
  if (opener && opener.isConnected) opener.focus();
}

async function step(direction) {
  const target = state?.passage?.[direction];
  if (target) await show(target, state.quote, state.opener, false);
}

async function show(passageId, quote, opener, focus = true) {
  const mine = ++seq;
  const panel = byId("source-panel");
  panel.hidden = false;
  panel.setAttribute("aria-busy", "true");
  document.body.classList.add("source-open");
  try {
    const passage = await getJSON(`/v1/passages/${encodeURIComponent(passageId)}`);
    const doc = await documentWithText(passage.doc_id);
    if (mine !== seq) return;
    state = { passage, quote, opener };
    render(passage, doc, quote);
    if (focus) byId("source-title").focus({ preventScroll: true });
  } catch (err) {
    if (mine !== seq) return;
    byId("source-title").textContent = t("chat.error") + err.message;
    clear(byId("source-text"));
  } finally {
    if (mine === seq) panel.removeAttribute("aria-busy");
  }
}

function render(passage, doc, quote) {
  byId("source-title").textContent = `《${passage.doc_title || doc.title}》`;
  const crumbs = clear(byId("source-breadcrumb"));
  passage.heading_path.forEach((heading, i) => {
    const last = i === passage.heading_path.length - 1;
    crumbs.append(el("li", last ? { "aria-current": "location" } : {}, heading));
  });
  byId("source-prev").disabled = !passage.prev_id;
  byId("source-next").disabled = !passage.next_id;
  const text = doc.text || "";
  const span = [passage.start, passage.end];
  const quoteAt = quote && quote.doc_id === passage.doc_id ? locateQuote(text, quote.text, ...span) : null;
  const box = byId("source-text");
  const made = renderText(box, text, { passage: span, quote: quoteAt });
  if (quote && quote.doc_id === passage.doc_id && !quoteAt) {
    box.prepend(el("p", { class: "notice" }, t("source.quoteMissing")));
  }
  // Scroll to the quote when it is in the passage shown, else to the passage.
  const inPassage = made.mark && made.passage && made.passage.contains(made.mark);
  scrollWithin(box, inPassage ? made.mark : made.passage || made.mark);
}
