// The buyer's chat widget. Talks only to the bot web service (which proxies to Rasa with the sender id taken
// from the signed token). Every message is rendered with textContent: HTML in a message is never run.
(function () {
  "use strict";
  const POLL_MS = 1500, MAX_BACKOFF_MS = 10000;
  const QUICK_REPLIES = ["好的", "不行", "转人工"];
  const $ = (id) => document.getElementById(id);
  const state = { token: null, lastSeq: -1, polling: false, backoff: POLL_MS, outbox: [], sending: 0, timer: null };

  function tokenFromPage() {
    const hash = new URLSearchParams(location.hash.slice(1));
    const query = new URLSearchParams(location.search);
    return hash.get("token") || query.get("token") || sessionStorage.getItem("aftersales.buyerToken");
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers.Authorization = "Bearer " + state.token;
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
    }
    const response = await fetch(path, opts);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { status: response.status });
    return body;
  }

  function banner(text) {
    $("banner").hidden = !text;
    $("banner").textContent = text || "";
  }

  // ------------------------------------------------------------------ rendering
  const ROLE_NAMES = { bot: "智能助手", agent: "人工客服", buyer: "我" };

  function safeImageUrl(url) {
    // Only our own uploads or plain http(s) images; never javascript: or data: from a message.
    if (typeof url !== "string") return null;
    if (url.startsWith("/uploads/")) return url;
    try { const u = new URL(url); return (u.protocol === "https:" || u.protocol === "http:") ? u.href : null; }
    catch (e) { return null; }
  }

  async function showUpload(img, url) {
    // Photos are served only with the buyer's token (an <img src> cannot send it): fetch, show a blob URL.
    try {
      const response = await fetch(url, { headers: { Authorization: "Bearer " + state.token } });
      if (!response.ok) return;
      img.src = URL.createObjectURL(await response.blob());
    } catch (error) { /* the bubble stays without its picture */ }
  }

  function renderMessage(message) {
    const box = el("div", "msg " + message.role);
    box.dataset.seq = message.seq;
    if (ROLE_NAMES[message.role] && message.role !== "buyer") box.appendChild(el("span", "who", ROLE_NAMES[message.role]));
    if (message.text) box.appendChild(el("div", "bubble", message.text));
    for (const url of message.images || []) {
      const safe = safeImageUrl(url);
      if (!safe) continue;
      const img = el("img"); img.alt = "图片"; box.appendChild(img);
      if (safe.startsWith("/uploads/")) showUpload(img, safe); else img.src = safe;
    }
    const buttons = message.buttons || [];
    if (buttons.length && buttons.every(isRatingButton)) box.appendChild(renderSurvey(buttons));
    else if (buttons.length) {
      const row = el("div", "buttons");
      for (const button of buttons) {
        const b = el("button", "", button.title);
        b.type = "button";
        b.addEventListener("click", () => send(button.payload, { display: button.title }));
        row.appendChild(b);
      }
      box.appendChild(row);
    }
    return box;
  }

  // ------------------------------------------------------------------ the satisfaction survey (满意度)
  // 满意 / 一般 / 不满意 with an optional comment: the comment rides in the button's payload
  // (/rate_satisfaction{"rating": ..., "comment": ...}), so one tap sends both and the NLU never sees it.
  const RATE_PREFIX = "/rate_satisfaction";
  const MAX_COMMENT = 500;

  function isRatingButton(button) {
    return typeof button.payload === "string" && button.payload.startsWith(RATE_PREFIX);
  }

  function withComment(payload, comment) {
    let data = {};
    try { data = JSON.parse(payload.slice(RATE_PREFIX.length) || "{}"); } catch (e) { data = {}; }
    if (comment) data.comment = comment.slice(0, MAX_COMMENT);
    return RATE_PREFIX + JSON.stringify(data);
  }

  function renderSurvey(buttons) {
    const survey = el("div", "survey");
    const comment = el("input", "survey-comment");
    comment.type = "text";
    comment.maxLength = MAX_COMMENT;
    comment.placeholder = "想说点什么？（选填）";
    comment.setAttribute("aria-label", "评价留言（选填）");
    const row = el("div", "buttons");
    for (const button of buttons) {
      const b = el("button", "rating", button.title);
      b.type = "button";
      b.addEventListener("click", () => {
        const text = comment.value.trim();
        survey.querySelectorAll("button, input").forEach((n) => { n.disabled = true; });
        b.classList.add("chosen");
        send(withComment(button.payload, text), { display: button.title + (text ? "：" + text : "") });
      });
      row.appendChild(b);
    }
    survey.appendChild(row);
    survey.appendChild(comment);
    return survey;
  }

  function append(messages) {
    const log = $("log");
    const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    if (messages.some((m) => m.role === "buyer")) log.querySelectorAll(".msg.pending").forEach((n) => n.remove());
    for (const message of messages) log.appendChild(renderMessage(message));
    if (nearBottom || messages.length) log.scrollTop = log.scrollHeight;
  }

  function renderQuickReplies() {
    const quick = $("quick");
    quick.textContent = "";
    for (const title of QUICK_REPLIES) {
      const b = el("button", "", title);
      b.type = "button";
      b.addEventListener("click", () => send(title));
      quick.appendChild(b);
    }
  }

  function showPending(text) {
    const box = renderMessage({ seq: -1, role: "buyer", text: text, images: [] });
    box.classList.add("pending");
    $("log").appendChild(box);
    $("log").scrollTop = $("log").scrollHeight;
  }

  function typing(on) {
    state.sending += on ? 1 : -1;
    $("typing").hidden = state.sending <= 0;
  }

  // ------------------------------------------------------------------ history (polling keeps agent replies coming)
  async function poll() {
    clearTimeout(state.timer);
    if (!state.token) return;
    try {
      const body = await api("/api/chat/history?after=" + state.lastSeq);
      if (body.messages.length) append(body.messages);
      state.lastSeq = Math.max(state.lastSeq, body.last_seq);
      state.backoff = POLL_MS;
      banner("");
      flushOutbox();
    } catch (error) {
      if (error.status === 401) { forget(); return; }
      banner("网络断开，正在重连…");
      state.backoff = Math.min(state.backoff * 2, MAX_BACKOFF_MS);
    }
    state.timer = setTimeout(poll, state.backoff);
  }

  // ------------------------------------------------------------------ sending (kept in an outbox until delivered)
  function send(text, extra) {
    text = (text || "").trim();
    const attachments = (extra && extra.attachments) || [];
    if (!text && !attachments.length) return;
    // One id per message, kept in the outbox: a re-send after a time-out is recognised and acts once.
    const item = { text: text, attachments: attachments, display: extra && extra.display,
                   client_message_id: Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10) };
    showPending(item.display || text);
    state.outbox.push(item);
    flushOutbox();
  }

  async function flushOutbox() {
    if (state.flushing) return;
    state.flushing = true;
    try {
      while (state.outbox.length) {
        const item = state.outbox[0];
        typing(true);
        try {
          await api("/api/chat/send", { method: "POST", json: item });
          state.outbox.shift();
        } catch (error) {
          if (error.status === 400 || error.status === 413) { state.outbox.shift(); banner(error.message); continue; }
          // 503: the service says why (the assistant is unreachable or could not finish); the message stays in
          // the outbox and goes again once the history answers
          banner(error.status === 503 && error.message ? error.message + "（恢复后自动重发）" : "网络断开，消息将在重连后发送…");
          return;
        } finally {
          typing(false);
        }
        await poll();
      }
    } finally {
      state.flushing = false;
    }
  }

  async function uploadPhoto(file) {
    const form = new FormData();
    form.append("photo", file, file.name || "photo.jpg");
    typing(true);
    try {
      const body = await api("/api/chat/upload", { method: "POST", body: form });
      send("照片已发", { attachments: [{ type: "photo", ref: body.ref }] });
    } catch (error) {
      banner(error.message || "图片上传失败，请重试");
    } finally {
      typing(false);
    }
  }

  // ------------------------------------------------------------------ identity
  function start(token, buyerId) {
    state.token = token;
    sessionStorage.setItem("aftersales.buyerToken", token);
    $("who").textContent = buyerId ? "买家 " + buyerId : "";
    $("picker").hidden = true;
    $("log").textContent = "";
    state.lastSeq = -1;
    renderQuickReplies();
    poll();
  }

  function forget() {
    sessionStorage.removeItem("aftersales.buyerToken");
    state.token = null;
    banner("身份已失效，请重新进入");
    init();
  }

  async function showPicker() {
    const response = await fetch("/api/demo/buyers");
    if (!response.ok) { banner("请从店铺页面进入客服（缺少买家身份）"); return; }
    const { buyers } = await response.json();
    const select = $("buyer-select");
    select.textContent = "";
    for (const buyer of buyers) {
      const option = el("option", "", buyer.id + " " + buyer.nickname + " — " + buyer.note);
      option.value = buyer.id;
      select.appendChild(option);
    }
    $("picker").hidden = false;
  }

  async function pickBuyer() {
    const buyerId = $("buyer-select").value;
    const response = await fetch("/api/demo/token", { method: "POST", headers: { "Content-Type": "application/json" },
                                                     body: JSON.stringify({ buyer_id: buyerId }) });
    const body = await response.json();
    if (!response.ok) { banner(body.error || "无法进入"); return; }
    start(body.token, body.buyer_id);
  }

  function buyerOfToken(token) {
    const parts = (token || "").split(".");
    return parts.length === 3 ? parts[0] : "";
  }

  async function init() {
    const token = tokenFromPage();
    if (token) { start(token, buyerOfToken(token)); return; }
    const config = await fetch("/api/config").then((r) => r.json()).catch(() => ({ demo: false }));
    if (config.demo) await showPicker();
    else banner("请从店铺页面进入客服（缺少买家身份）");
  }

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value;
    $("text").value = "";
    send(text);
  });
  $("photo").addEventListener("change", (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) uploadPhoto(file);
  });
  $("buyer-go").addEventListener("click", pickBuyer);
  window.addEventListener("online", poll);
  init();
})();
