// One answer rendered: [n] markers as links to their sources, unsupported sentences and abstentions marked,
// the list of sources, and the plain-text copy.
import { el } from "./dom.js";
import { t } from "./i18n.js";

// `[1]`, `[1, 3]`, `[1-3]`, `[1，2]`: the marker forms the service writes (see ingest.zh.answer.MARKER_RE).
const MARKER = /\[(\d+(?:\s*[,，、\-–~]\s*\d+)*)\]/g;
const MAX_RANGE = 20;

export function markerNumbers(group) {
  const numbers = [];
  for (const item of group.split(/\s*[,，、]\s*/)) {
    const bounds = item.split(/\s*[\-–~]\s*/).map(Number);
    if (bounds.length === 2 && bounds[1] >= bounds[0] && bounds[1] - bounds[0] <= MAX_RANGE) {
      for (let n = bounds[0]; n <= bounds[1]; n++) numbers.push(n);
    } else if (!Number.isNaN(bounds[0])) numbers.push(bounds[0]);
  }
  return numbers;
}

/** Text with its markers as <a>[n]</a> links (one per cited number); unknown numbers stay plain text. */
export function linkMarkers(text, citations, onCite) {
  const byN = new Map(citations.map((c) => [c.n, c]));
  const nodes = [];
  let pos = 0;
  for (const m of text.matchAll(MARKER)) {
    const numbers = markerNumbers(m[1]);
    if (!numbers.length || !numbers.every((n) => byN.has(n))) continue;
    if (m.index > pos) nodes.push(text.slice(pos, m.index));
    for (const n of numbers) nodes.push(citationLink(byN.get(n), onCite));
    pos = m.index + m[0].length;
  }
  if (pos < text.length) nodes.push(text.slice(pos));
  return nodes;
}

function citationLink(citation, onCite) {
  const link = el("a", {
    href: `#source-${citation.n}`,
    class: "cite",
    title: t("chat.cite", { n: citation.n, title: citation.doc_title }),
    "aria-controls": "source-panel",
  }, `[${citation.n}]`);
  link.addEventListener("click", (e) => {
    e.preventDefault();
    onCite(citation, link);
  });
  return link;
}

/** [start, end) of each unsupported sentence found in `text`, in order, not overlapping. */
function unsupportedRanges(text, sentences) {
  const ranges = [];
  for (const sentence of sentences) {
    const s = sentence.trim();
    const at = s ? text.indexOf(s) : -1;
    if (at !== -1 && !ranges.some(([a, b]) => at < b && at + s.length > a)) ranges.push([at, at + s.length]);
  }
  return ranges.sort((a, b) => a[0] - b[0]);
}

/** The answer's body: text, marker links and <span class="unsupported"> around unsupported sentences. */
export function answerBody(text, result, onCite) {
  const nodes = [];
  let pos = 0;
  for (const [start, end] of unsupportedRanges(text, result.unsupported_sentences || [])) {
    nodes.push(...linkMarkers(text.slice(pos, start), result.citations, onCite));
    nodes.push(el("span", { class: "unsupported", title: t("chat.unsupported") },
      text.slice(start, end), el("span", { class: "badge warn" }, t("chat.unsupported"))));
    pos = end;
  }
  nodes.push(...linkMarkers(text.slice(pos), result.citations, onCite));
  return nodes;
}

/** The sources under an answer: `[n] 《title》 heading > …` and the quote. */
export function sourceList(citations, onCite) {
  if (!citations.length) return null;
  return el("details", { class: "sources", open: true },
    el("summary", {}, t("chat.sources")),
    el("ol", {}, citations.map((c) => el("li", {},
      el("span", { class: "n" }, `[${c.n}] `),
      el("button", { type: "button", class: "link", onclick: (e) => onCite(c, e.currentTarget) },
        `《${c.doc_title}》`, headingTrail(c) ? ` ${headingTrail(c)}` : ""),
      el("blockquote", {}, c.quote)))));
}

function headingTrail(citation) {
  const path = [...(citation.heading_path || [])];
  if (path.length && path[0] === citation.doc_title) path.shift(); // the title is already said
  return path.join(" > ");
}

/** The answer and its citations as plain text: `…[1]\n[1] 《title》 heading > …：quote`. */
export function plainText(text, citations) {
  const lines = citations.map((c) => {
    const trail = headingTrail(c);
    return `[${c.n}] 《${c.doc_title}》${trail ? ` ${trail}` : ""}：${c.quote}`;
  });
  return [text, ...lines].join("\n");
}

export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on a non-local address has no clipboard API: a temporary off-screen field and execCommand.
  const field = el("textarea", { class: "offscreen", readonly: true, "aria-hidden": "true" });
  field.value = text;
  document.body.append(field);
  field.select();
  const ok = document.execCommand("copy");
  field.remove();
  if (!ok) throw new Error("copy");
}
