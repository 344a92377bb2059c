// The API key: asked for when the service requires one, kept in this tab's sessionStorage only.
import { byId } from "./dom.js";
import { t } from "./i18n.js";

const KEY = "reportqa.apiKey";

export function storedKey() {
  try { return sessionStorage.getItem(KEY) || ""; } catch { return ""; }
}

function storeKey(value) {
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch { /* storage may be disabled: the key lives for this page only */ }
}

export function authHeaders() {
  const key = storedKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * Show the key dialog; resolves true when a key was entered (or forgotten), false when cancelled.
 * `invalid` says the last key was refused.
 */
let pending = null; // one prompt at a time: a second caller waits for the same answer

export function askForKey(invalid = false) {
  if (!pending) pending = prompt(invalid).finally(() => { pending = null; });
  return pending;
}

function prompt(invalid) {
  const dialog = byId("key-dialog");
  const input = byId("key-input");
  const message = byId("key-message");
  message.textContent = invalid ? t("key.invalid") : t("key.prompt");
  input.value = "";
  return new Promise((resolve) => {
    const done = (result) => {
      form.removeEventListener("submit", onSubmit);
      byId("key-cancel").removeEventListener("click", onCancel);
      byId("key-forget").removeEventListener("click", onForget);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      resolve(result);
    };
    const form = byId("key-form");
    const onSubmit = (e) => {
      e.preventDefault();
      storeKey(input.value.trim());
      done(true);
    };
    const onCancel = (e) => { e.preventDefault(); done(false); };
    const onForget = () => { storeKey(""); done(true); };
    form.addEventListener("submit", onSubmit);
    byId("key-cancel").addEventListener("click", onCancel);
    byId("key-forget").addEventListener("click", onForget);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    input.focus();
  });
}
