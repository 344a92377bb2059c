// Document management (admin only): upload with progress, each job's result, delete a report.
import { getJSON, sendJSON, uploadFiles } from "./api.js";
import { byId, clear, el } from "./dom.js";
import { onLangChange, t } from "./i18n.js";
import { documents, loadDocuments, onDocuments } from "./reports.js";
import { forgetDocuments } from "./source.js";

const POLL_MS = 800;
const POLL_LIMIT = 900; // about 12 minutes of polling before a job is left to the list
let onUnauthorized = async () => false;
const shownJobs = new Map(); // <li> -> the job it shows, re-rendered on a language change

export function initManage(options) {
  onUnauthorized = options.onUnauthorized || onUnauthorized;
  onDocuments(renderDocs);
  onLangChange(() => {
    renderDocs(documents());
    shownJobs.forEach((job, item) => renderJob(item, job));
  });
  byId("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    upload();
  });
}

async function upload() {
  const input = byId("upload-files");
  const status = byId("upload-status");
  const bar = byId("upload-progress");
  if (!input.files.length) {
    status.textContent = t("manage.noFile");
    return;
  }
  bar.hidden = false;
  bar.value = 0;
  try {
    const { job_id: jobId } = await uploadFiles([...input.files], (p) => {
      bar.value = p;
      status.textContent = t("manage.uploading", { p });
    });
    bar.value = 100;
    status.textContent = t("manage.uploaded");
    input.value = "";
    await follow(jobId, "upload");
  } catch (err) {
    status.textContent = t("chat.error") + err.message;
    if (err.status === 401 || err.status === 403) await onUnauthorized(err.status);
  }
}

/** Poll one job until it is done or failed, showing its state and result in the job list. */
async function follow(jobId, kind) {
  const item = el("li", { class: "job", dataset: { jobId } });
  byId("job-list").prepend(item);
  let job = { job_id: jobId, kind, status: "queued", result: { documents: [], skipped: [] } };
  for (let i = 0; i < POLL_LIMIT; i++) {
    renderJob(item, job);
    if (job.status === "done" || job.status === "failed") break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    job = await getJSON(`/v1/jobs/${encodeURIComponent(jobId)}`);
  }
  renderJob(item, job);
  if (job.status === "done") {
    forgetDocuments();
    await loadDocuments();
  }
  return job;
}

function renderJob(item, job) {
  shownJobs.set(item, job);
  clear(item);
  item.className = `job ${job.status}`;
  item.dataset.status = job.status;
  item.append(el("strong", {}, `${t(`job.${job.kind}`)} · ${t(`job.${job.status}`)}`));
  const docs = job.result?.documents || [];
  if (docs.length) item.append(el("div", {}, t("job.documents", { list: docs.join("、") })));
  for (const skipped of job.result?.skipped || []) {
    item.append(el("div", { class: "skipped" }, t("job.skipped", { path: skipped.path, reason: skipped.reason })));
  }
  if (job.error) item.append(el("div", { class: "error" }, job.error));
}

function renderDocs(docs) {
  const list = clear(byId("manage-docs"));
  for (const doc of docs) {
    const del = el("button", { type: "button", class: "danger", dataset: { docId: doc.id } }, t("manage.delete"));
    del.setAttribute("aria-label", `${t("manage.delete")}：${doc.title}（${doc.id}）`);
    del.addEventListener("click", () => remove(doc, del));
    del.addEventListener("blur", () => disarm(del));
    list.append(el("li", {}, el("span", {}, `${doc.title}`), el("code", {}, doc.id), del));
  }
}

function disarm(button) {
  if (button.dataset.armed) {
    delete button.dataset.armed;
    button.textContent = t("manage.delete");
  }
}

/** Two clicks delete: the first asks for confirmation on the button itself (no blocking dialog). */
async function remove(doc, button) {
  if (!button.dataset.armed) {
    button.dataset.armed = "1";
    // A delete removes the source file, so every report split from the same file goes with it.
    const siblings = documents().filter((d) => d.source_file === doc.source_file).length;
    button.textContent = siblings > 1 ? t("manage.confirmMany", { n: siblings }) : t("manage.confirm");
    return;
  }
  button.disabled = true;
  try {
    const { job_id: jobId } = await sendJSON("DELETE", `/v1/documents/${encodeURIComponent(doc.id)}`);
    await follow(jobId, "delete");
  } catch (err) {
    byId("upload-status").textContent = t("chat.error") + err.message;
    button.disabled = false;
    if (err.status === 401 || err.status === 403) await onUnauthorized(err.status);
  }
}
