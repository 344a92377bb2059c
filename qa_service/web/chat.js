// The conversation: questions go to /v1/chat/completions with the history, replies stream in.
import { answerBody, copyText, plainText, sourceList } from "./answer.js";
import { streamChat } from "./api.js";
import { byId, clear, el } from "./dom.js";
import { t } from "./i18n.js";

const history = []; // {role, content}: what the service gets to resolve follow-ups
const MAX_HISTORY = 40; // messages sent back; the chat API takes 100 and reads only the recent turns
let controller = null;
let hooks = { onCite: () => {}, onUnauthorized: async () => false };

export function initChat(options) {
  hooks = { ...hooks, ...options };
  const form = byId("ask-form");
  const box = byId("question");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const question = box.value.trim();
    if (!question || controller) return;
    box.value = "";
    ask(question);
  });
  box.addEventListener("keydown", (e) => {
    // Enter sends, Shift+Enter is a new line; Enter that confirms an IME composition does neither.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  byId("new-chat").addEventListener("click", newChat);
}

function newChat() {
  if (controller) controller.abort();
  history.length = 0;
  clear(byId("conversation"));
  byId("question").focus();
}

function messageItem(role, ...body) {
  const who = el("div", { class: "who", "data-i18n": role === "user" ? "chat.you" : "chat.assistant" },
    t(role === "user" ? "chat.you" : "chat.assistant"));
  const item = el("li", { class: `msg ${role}` }, who, ...body);
  byId("conversation").append(item);
  return item;
}

function scrollToEnd() {
  const log = byId("conversation");
  log.scrollTop = log.scrollHeight;
}

async function ask(question) {
  messageItem("user", el("div", { class: "body" }, question));
  const body = el("div", { class: "body streaming" }, el("span", { class: "thinking" }, t("chat.thinking")));
  const item = messageItem("assistant", body);
  item.setAttribute("aria-busy", "true");
  scrollToEnd();
  const messages = [...history.slice(-MAX_HISTORY), { role: "user", content: question }];
  controller = new AbortController();
  byId("send").disabled = true;
  let text = "";
  try {
    const result = await streamChat(messages, (delta) => {
      text += delta;
      body.textContent = text;
      scrollToEnd();
    }, controller.signal);
    finishAnswer(item, body, text, result);
    history.push({ role: "user", content: question }, { role: "assistant", content: text });
  } catch (err) {
    failAnswer(item, body, err, question);
  } finally {
    controller = null;
    byId("send").disabled = false;
    item.removeAttribute("aria-busy");
    scrollToEnd();
  }
}

function finishAnswer(item, body, text, result) {
  body.classList.remove("streaming");
  clear(body);
  if (result.abstained) {
    item.classList.add("abstained");
    item.insertBefore(el("p", { class: "status" },
      el("span", { class: "badge warn", "data-i18n": "chat.abstained" }, t("chat.abstained")), " ",
      el("span", { "data-i18n": "chat.abstainedNote" }, t("chat.abstainedNote"))), body);
    body.textContent = text;
    if (result.abstain_reason) {
      item.append(el("p", { class: "reason" }, el("span", { "data-i18n": "chat.reason" }, t("chat.reason")), result.abstain_reason));
    }
  } else {
    body.append(...answerBody(text, result, hooks.onCite));
  }
  const unsupported = result.unsupported_sentences || [];
  if (unsupported.length) {
    item.classList.add("has-unsupported");
    item.append(el("div", { class: "unsupported-note" },
      el("p", { "data-i18n": "chat.unsupportedNote" }, t("chat.unsupportedNote")),
      el("ul", {}, unsupported.map((s) => el("li", {}, s)))));
  }
  if (!result.abstained) item.append(sourceList(result.citations, hooks.onCite) || "");
  const copy = el("button", { type: "button", class: "copy", "data-i18n": "chat.copy" }, t("chat.copy"));
  copy.addEventListener("click", async () => {
    const citations = result.abstained ? [] : result.citations;
    try {
      await copyText(plainText(text, citations));
      flash(copy, t("chat.copied"));
    } catch {
      flash(copy, t("chat.copyFailed"));
    }
  });
  item.append(el("div", { class: "actions" }, copy));
}

function flash(button, message) {
  const label = button.textContent;
  button.textContent = message;
  setTimeout(() => { button.textContent = label; }, 1500);
}

function failAnswer(item, body, err, question) {
  body.classList.remove("streaming");
  item.classList.add("error");
  if (err.name === "AbortError") {
    item.remove();
    return;
  }
  body.textContent = t("chat.error") + err.message;
  if (err.status === 401 || err.status === 403) {
    // Keep the question so it can be sent again once a key is entered.
    const box = byId("question");
    if (!box.value) box.value = question;
    hooks.onUnauthorized(err.status); // asks for a key; the answer is already marked as refused
  }
}
