// A document's cleaned text rendered as text nodes, with the passage, the quote (<mark>) and section anchors
// placed by their character offsets (the offsets the API gives into the same text).
import { clear } from "./dom.js";

/**
 * Render `text` into `container`. Options: `passage` [start, end) wrapped in <span class="passage">,
 * `quote` [start, end) wrapped in <mark>, `anchors` offsets each getting an empty <span class="anchor">.
 * Returns the elements made: {passage, mark, anchors: Map(offset -> span)}.
 */
export function renderText(container, text, { passage = null, quote = null, anchors = [] } = {}) {
  clear(container);
  const made = { passage: null, mark: null, anchors: new Map() };
  const events = [];
  const range = (r) => r && r[0] >= 0 && r[1] > r[0] && r[1] <= text.length;
  if (range(passage)) events.push([passage[0], 1, "open-passage"], [passage[1], 0, "close-passage"]);
  if (range(passage) && range(quote) && quote[0] < passage[1] && quote[1] > passage[0]) {
    quote = [Math.max(quote[0], passage[0]), Math.min(quote[1], passage[1])]; // overlapping: nest it in the passage
  }
  if (range(quote)) events.push([quote[0], 2, "open-mark"], [quote[1], -1, "close-mark"]);
  for (const at of anchors) if (at >= 0 && at <= text.length) events.push([at, 3, "anchor"]);
  // At one offset: closing the mark, then the passage, then opening the passage, the mark, anchors.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const stack = [container];
  let pos = 0;
  for (const [at, , kind] of events) {
    if (at > pos) stack[stack.length - 1].append(document.createTextNode(text.slice(pos, at)));
    pos = Math.max(pos, at);
    const top = stack[stack.length - 1];
    if (kind === "open-passage") stack.push(made.passage = top.appendChild(span("passage")));
    else if (kind === "open-mark") stack.push(made.mark = top.appendChild(document.createElement("mark")));
    else if (kind === "anchor") {
      const anchor = top.appendChild(span("anchor"));
      anchor.dataset.offset = String(at);
      made.anchors.set(at, anchor);
    }
    else if (stack.length > 1) stack.pop();
  }
  if (pos < text.length) container.append(document.createTextNode(text.slice(pos)));
  return made;
}

function span(className) {
  const node = document.createElement("span");
  node.className = className;
  return node;
}

/** Where `quote` is in `text`: inside [start, end) when it is there, else anywhere; null when absent. */
export function locateQuote(text, quote, start = 0, end = text.length) {
  if (!quote) return null;
  let at = text.indexOf(quote, Math.max(0, start));
  if (at === -1 || at >= end) at = text.indexOf(quote);
  return at === -1 ? null : [at, at + quote.length];
}

/** Scroll the scrollable `box` so `target` (inside it) sits `fraction` of the way down (a third by default). */
export function scrollWithin(box, target, fraction = 1 / 3) {
  if (!target) return;
  const boxRect = box.getBoundingClientRect();
  const rect = target.getBoundingClientRect();
  box.scrollTop += rect.top - boxRect.top - box.clientHeight * fraction - 8; // 8px: the line is not cut at the top
}
