// Interface text. The served HTML already carries the Chinese text; English is the toggle.
// Elements name their text with data-i18n (textContent), data-i18n-placeholder and data-i18n-aria.

const TEXT = {
  zh: {
    "app.title": "报告问答",
    "skip": "跳到提问框",
    "tabs.label": "视图",
    "tab.chat": "问答",
    "tab.reports": "报告",
    "tab.manage": "管理",
    "key.button": "API 密钥",
    "api.docs": "接口文档",
    "chat.hint": "就报告内容提问。回答中的 [1]、[2] 等标记可点开，查看原文出处。",
    "chat.log": "对话",
    "chat.question": "问题",
    "chat.placeholder": "输入问题，Enter 发送，Shift+Enter 换行",
    "chat.send": "发送",
    "chat.new": "新对话",
    "chat.you": "你",
    "chat.assistant": "回答",
    "chat.thinking": "正在检索……",
    "chat.abstained": "未找到依据",
    "chat.abstainedNote": "资料中没有能支持回答的内容，以下为系统说明，不是答案。",
    "chat.reason": "原因：",
    "chat.unsupported": "无出处",
    "chat.unsupportedNote": "以下句子在引用的原文中找不到依据：",
    "chat.sources": "出处",
    "chat.copy": "复制回答和出处",
    "chat.copied": "已复制",
    "chat.copyFailed": "复制失败",
    "chat.error": "出错了：",
    "chat.cite": "查看出处 {n}：{title}",
    "search.label": "搜索报告",
    "search.placeholder": "搜索报告内容",
    "search.filter": "限定报告",
    "search.all": "全部报告",
    "search.button": "搜索",
    "search.none": "没有找到相关段落。",
    "search.count": "找到 {n} 个段落",
    "search.open": "查看原文",
    "reports.heading": "报告列表",
    "col.title": "标题",
    "col.date": "日期",
    "col.reporter": "报告人",
    "col.sections": "章节",
    "col.passages": "段落",
    "doc.outline": "目录",
    "doc.text": "正文",
    "doc.noOutline": "此报告没有分节标题。",
    "doc.meta": "{date} · {reporter} · {sections} 个章节 · {passages} 个段落",
    "source.close": "关闭原文",
    "source.path": "所在章节",
    "source.prev": "上一段",
    "source.next": "下一段",
    "source.openDoc": "打开整篇报告",
    "source.text": "原文",
    "source.quoteMissing": "未能在原文中定位引文。",
    "manage.upload": "上传文件",
    "manage.files": "选择文件（txt、md、docx、pdf、html）",
    "manage.submit": "上传",
    "manage.jobs": "任务",
    "manage.documents": "已收录的报告",
    "manage.delete": "删除",
    "manage.confirm": "确认删除",
    "manage.confirmMany": "确认删除（同一文件的 {n} 篇一并删除）",
    "manage.noFile": "请先选择文件。",
    "manage.uploading": "上传中 {p}%",
    "manage.uploaded": "已上传，正在处理……",
    "job.upload": "上传",
    "job.delete": "删除",
    "job.queued": "排队中",
    "job.running": "处理中",
    "job.done": "完成",
    "job.failed": "失败",
    "job.documents": "文档：{list}",
    "job.skipped": "跳过 {path}：{reason}",
    "key.title": "需要 API 密钥",
    "key.prompt": "此服务需要 API 密钥。密钥只保存在本浏览器标签页的会话存储中，关闭页面即清除。",
    "key.invalid": "密钥无效，请重新输入。",
    "key.label": "API 密钥",
    "key.save": "确定",
    "key.forget": "清除密钥",
    "key.cancel": "取消",
    "role.admin": "管理员",
    "role.query": "查询",
    "noscript": "本页面需要启用 JavaScript。",
  },
  en: {
    "app.title": "Report Q&A",
    "skip": "Skip to the question box",
    "tabs.label": "Views",
    "tab.chat": "Ask",
    "tab.reports": "Reports",
    "tab.manage": "Manage",
    "key.button": "API key",
    "api.docs": "API docs",
    "chat.hint": "Ask about the reports. Click a marker such as [1] in an answer to open its source.",
    "chat.log": "Conversation",
    "chat.question": "Question",
    "chat.placeholder": "Type a question; Enter sends, Shift+Enter adds a line",
    "chat.send": "Send",
    "chat.new": "New chat",
    "chat.you": "You",
    "chat.assistant": "Answer",
    "chat.thinking": "Searching…",
    "chat.abstained": "No supported answer",
    "chat.abstainedNote": "Nothing in the reports supports an answer; the text below is a notice, not an answer.",
    "chat.reason": "Why: ",
    "chat.unsupported": "unsupported",
    "chat.unsupportedNote": "These sentences are not supported by the cited passages:",
    "chat.sources": "Sources",
    "chat.copy": "Copy answer with sources",
    "chat.copied": "Copied",
    "chat.copyFailed": "Copy failed",
    "chat.error": "Error: ",
    "chat.cite": "Source {n}: {title}",
    "search.label": "Search the reports",
    "search.placeholder": "Search the reports",
    "search.filter": "Limit to a report",
    "search.all": "All reports",
    "search.button": "Search",
    "search.none": "No matching passage.",
    "search.count": "{n} passages found",
    "search.open": "Open in the document",
    "reports.heading": "Reports",
    "col.title": "Title",
    "col.date": "Date",
    "col.reporter": "Reporter",
    "col.sections": "Sections",
    "col.passages": "Passages",
    "doc.outline": "Outline",
    "doc.text": "Text",
    "doc.noOutline": "This report has no section headings.",
    "doc.meta": "{date} · {reporter} · {sections} sections · {passages} passages",
    "source.close": "Close the source",
    "source.path": "Section path",
    "source.prev": "Previous passage",
    "source.next": "Next passage",
    "source.openDoc": "Open the whole report",
    "source.text": "Source text",
    "source.quoteMissing": "The quote could not be located in the text.",
    "manage.upload": "Upload files",
    "manage.files": "Choose files (txt, md, docx, pdf, html)",
    "manage.submit": "Upload",
    "manage.jobs": "Jobs",
    "manage.documents": "Indexed reports",
    "manage.delete": "Delete",
    "manage.confirm": "Confirm delete",
    "manage.confirmMany": "Confirm: deletes all {n} reports of this file",
    "manage.noFile": "Choose a file first.",
    "manage.uploading": "Uploading {p}%",
    "manage.uploaded": "Uploaded, processing…",
    "job.upload": "Upload",
    "job.delete": "Delete",
    "job.queued": "queued",
    "job.running": "running",
    "job.done": "done",
    "job.failed": "failed",
    "job.documents": "Documents: {list}",
    "job.skipped": "Skipped {path}: {reason}",
    "key.title": "API key required",
    "key.prompt": "This service needs an API key. It is kept in this tab's session storage only and cleared when the tab closes.",
    "key.invalid": "The key is not valid; enter another.",
    "key.label": "API key",
    "key.save": "OK",
    "key.forget": "Forget the key",
    "key.cancel": "Cancel",
    "role.admin": "admin",
    "role.query": "query",
    "noscript": "This page needs JavaScript.",
  },
};

const LANG_KEY = "reportqa.lang";
let lang = "zh";
const listeners = [];

/** The text for `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = TEXT[lang][key] ?? TEXT.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export function currentLang() {
  return lang;
}

/** Call `fn` after every language change (views re-render their dynamic text). */
export function onLangChange(fn) {
  listeners.push(fn);
}

export function setLang(next) {
  lang = next === "en" ? "en" : "zh";
  try { localStorage.setItem(LANG_KEY, lang); } catch { /* storage may be disabled */ }
  applyStatic(document);
  listeners.forEach((fn) => fn(lang));
}

export function initialLang() {
  try { return localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh"; } catch { return "zh"; }
}

function applyStatic(root) {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  document.title = t("app.title");
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-aria]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nAria)); });
  const toggle = root.getElementById ? root.getElementById("lang-toggle") : null;
  if (toggle) {
    toggle.textContent = lang === "en" ? "中文" : "English";
    toggle.lang = lang === "en" ? "zh-CN" : "en";
  }
}
