// The HTTP API: JSON calls, the chat stream (server-sent events over fetch) and uploads with progress (XHR).
import { authHeaders } from "./auth.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorOf(response) {
  let message = `HTTP ${response.status}`;
  try {
    const body = await response.json();
    message = body?.error?.message || body?.detail || message;
  } catch { /* not JSON */ }
  return new ApiError(response.status, typeof message === "string" ? message : JSON.stringify(message));
}

export async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json", ...authHeaders() } });
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

export async function sendJSON(method, path, body) {
  const init = { method, headers: { Accept: "application/json", ...authHeaders() } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/** Who we are: `{keys_required, role}`. A server without `/v1/auth` has no keys: everyone is admin. */
export async function whoAmI() {
  const response = await fetch("/v1/auth", { headers: { Accept: "application/json", ...authHeaders() } });
  if (response.status === 404) return { keys_required: false, role: "admin" };
  if (response.status === 401) return { keys_required: true, role: null };
  if (!response.ok) throw await errorOf(response);
  return response.json();
}

/**
 * POST /v1/chat/completions with `stream: true`; `onDelta(text)` for each piece of the answer, then the
 * last chunk's extra fields (citations, abstained, unsupported_sentences) are returned.
 */
export async function streamChat(messages, onDelta, signal) {
  const response = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "text/event-stream", ...authHeaders() },
    body: JSON.stringify({ model: "reportqa", messages, stream: true }),
    signal,
  });
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let final = { citations: [], abstained: false, unsupported_sentences: [] };
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) !== -1) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      final = handleEvent(event, onDelta, final);
    }
    if (done) break;
  }
  return final;
}

function handleEvent(event, onDelta, final) {
  const data = event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
  if (!data || data === "[DONE]") return final;
  const chunk = JSON.parse(data);
  if (chunk.error) throw new ApiError(500, chunk.error.message || "stream error");
  const text = chunk.choices?.[0]?.delta?.content;
  if (text) onDelta(text);
  if (chunk.citations !== undefined || chunk.abstained !== undefined) {
    return {
      citations: chunk.citations || [],
      abstained: Boolean(chunk.abstained),
      unsupported_sentences: chunk.unsupported_sentences || [],
      abstain_reason: chunk.abstain_reason || null,
    };
  }
  return final;
}

/** POST files as multipart `files`; `onProgress(percent)` while the bytes go up. Resolves to `{job_id}`. */
export function uploadFiles(files, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/documents");
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(Math.round((100 * e.loaded) / e.total));
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body?.error?.message || `HTTP ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network error")));
    xhr.send(form);
  });
}
