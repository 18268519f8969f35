// The agent console: queue (waiting first), transcript, copilot suggestions, approve / edit / send,
// take over and hand back. All message text is rendered with textContent (never as HTML).
(function () {
  "use strict";
  const LIST_MS = 3000, THREAD_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const state = { token: sessionStorage.getItem("aftersales.agentToken"), current: null, lastSeq: -1,
                  lastBuyerSeq: -1, timers: {} };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function newKey(prefix) {
    const random = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
    return prefix + ":" + random;
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers.Authorization = "Bearer " + state.token;
    if (opts.json !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(opts.json); }
    const response = await fetch(path, opts);
    const body = await response.json().catch(() => ({}));
    if (response.status === 401) { logout(); throw new Error("unauthorised"); }
    if (!response.ok) throw Object.assign(new Error(body.error || response.statusText), { status: response.status, body: body });
    return body;
  }

  // ------------------------------------------------------------------ login
  async function showLogin(hint) {
    $("workspace").hidden = true;
    $("login").hidden = false;
    $("login-hint").textContent = hint || "";
    const config = await fetch("/api/config").then((r) => r.json()).catch(() => ({}));
    if (config.demo && !$("token").value) {
      $("token").value = "demo-agent-token";
      $("login-hint").textContent = (hint ? hint + " " : "") + "演示模式：已填入演示令牌";
    }
  }

  function logout() {
    sessionStorage.removeItem("aftersales.agentToken");
    state.token = null;
    Object.values(state.timers).forEach(clearTimeout);
    showLogin("令牌无效，请重新登录");
  }

  $("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("aftersales.agentToken", state.token);
    start();
  });

  // ------------------------------------------------------------------ queue
  async function refreshList() {
    clearTimeout(state.timers.list);
    try {
      const listing = await api("/api/agent/conversations");
      renderList("waiting", listing.waiting);
      renderList("taken", listing.taken);
      renderList("live", listing.live);
      renderPackBanner(listing.pack_rejected);
    } catch (error) { /* keep the last list; retried below */ }
    if (state.token) state.timers.list = setTimeout(refreshList, LIST_MS);
  }

  // The shop's last rule-pack edit was rejected: every agent sees it, not only inside a suggestion.
  function renderPackBanner(message) {
    const banner = $("pack-banner");
    banner.hidden = !message;
    banner.textContent = message ? "规则包的最新修改未生效，仍按上一版规则处理：" + message : "";
  }

  function renderList(id, rows) {
    const list = $(id);
    list.textContent = "";
    if (!rows.length) { list.appendChild(el("li", "muted", "无")); return; }
    for (const row of rows) {
      const item = el("li", "conv" + (row.conversation_id === state.current ? " active" : ""));
      item.dataset.conversation = row.conversation_id;
      item.appendChild(el("strong", "", row.conversation_id));
      if (row.reason) item.appendChild(el("span", "tag", row.reason));
      if (row.agent_id) item.appendChild(el("span", "tag", "坐席 " + row.agent_id));
      if (row.deadline) item.appendChild(deadlineTag(row));
      const first = (row.summary || "").split("\n")[0];
      if (first) item.appendChild(el("div", "preview", first));
      item.addEventListener("click", () => openConversation(row.conversation_id));
      list.appendChild(item);
    }
  }

  // The platform's deadline of a waiting case: time left, or how long overdue; dispute risk marked.
  function deadlineTag(row) {
    const left = row.seconds_left;
    const hours = Math.floor(Math.abs(left) / 3600), minutes = Math.floor((Math.abs(left) % 3600) / 60);
    const span = hours + "小时" + minutes + "分";
    const text = (left < 0 ? "已超时 " + span : "剩余 " + span) + (row.deadline_label ? " · " + row.deadline_label : "");
    const classes = "deadline" + (row.overdue ? " overdue" : row.due_soon ? " due-soon" : "")
      + (row.dispute_risk ? " dispute-risk" : "");
    const tag = el("span", classes, text + (row.dispute_risk ? " · 纠纷风险" : ""));
    tag.title = "截止 " + row.deadline;
    return tag;
  }

  // ------------------------------------------------------------------ a conversation
  function openConversation(id) {
    state.current = id;
    state.lastSeq = -1;
    state.lastBuyerSeq = -1;
    $("thread-title").textContent = "对话：" + id;
    $("transcript").textContent = "";
    $("suggestion").textContent = "";
    $("reply-send").disabled = false;
    document.querySelectorAll(".conv").forEach((n) => n.classList.toggle("active", n.dataset.conversation === id));
    refreshThread();
  }

  async function refreshThread() {
    clearTimeout(state.timers.thread);
    const id = state.current;
    if (!id) return;
    try {
      const body = await api("/api/agent/conversations/" + encodeURIComponent(id) + "?after=" + state.lastSeq);
      if (id !== state.current) return;
      for (const message of body.messages) $("transcript").appendChild(renderMessage(message));
      if (body.messages.length) $("transcript").scrollTop = $("transcript").scrollHeight;
      state.lastSeq = Math.max(state.lastSeq, body.last_seq);
      $("takeover").disabled = body.paused;
      $("handback").disabled = !body.paused;
      $("resolve").disabled = !body.slots || !body.slots.case_id;
      const buyerSeq = Math.max(-1, ...body.messages.filter((m) => m.role === "buyer").map((m) => m.seq));
      if (buyerSeq > state.lastBuyerSeq) { state.lastBuyerSeq = buyerSeq; loadSuggestion(); }
    } catch (error) { /* retried */ }
    state.timers.thread = setTimeout(refreshThread, THREAD_MS);
  }

  const ROLE_NAMES = { buyer: "买家", bot: "机器人", agent: "坐席", system: "" };

  async function showUpload(img, url) {
    // Photos are served only with an agent's (or their buyer's) token: fetch, then show a blob URL.
    try {
      const response = await fetch(url, { headers: { Authorization: "Bearer " + state.token } });
      if (response.ok) img.src = URL.createObjectURL(await response.blob());
    } catch (error) { /* shown without the picture */ }
  }

  function renderMessage(message) {
    const box = el("div", "msg " + message.role);
    const who = ROLE_NAMES[message.role] + (message.agent_id ? " " + message.agent_id : "");
    if (who) box.appendChild(el("span", "who", who));
    if (message.text) box.appendChild(el("div", "bubble", message.text));
    for (const url of message.images || []) {
      if (typeof url === "string" && url.startsWith("/uploads/")) {
        const img = el("img"); img.alt = "买家照片"; box.appendChild(img); showUpload(img, url);
      }
    }
    if ((message.buttons || []).length) box.appendChild(el("div", "buttons", "按钮：" + message.buttons.map((b) => b.title).join(" / ")));
    return box;
  }

  // ------------------------------------------------------------------ suggestions
  async function loadSuggestion() {
    const id = state.current;
    try {
      const suggestion = await api("/api/copilot/suggest?conversation_id=" + encodeURIComponent(id));
      if (id === state.current) renderSuggestion(suggestion);
    } catch (error) {
      if (id === state.current) { $("suggestion").textContent = ""; $("suggestion").appendChild(el("p", "muted", "暂无建议：" + error.message)); }
    }
  }

  function fact(list, label, value) {
    if (value === null || value === undefined || value === "") return;
    const row = el("div", "fact");
    row.appendChild(el("span", "label", label));
    row.appendChild(el("span", "value", value));
    list.appendChild(row);
  }

  function renderSuggestion(s) {
    const panel = $("suggestion");
    panel.textContent = "";
    $("elapsed").textContent = s.elapsed_ms !== undefined ? s.elapsed_ms + " ms" : "";
    const facts = el("div", "facts");
    if (s.intent && s.intent.name) {
      let text = s.intent.label + "（" + s.intent.name + " " + Math.round(s.intent.confidence * 100) + "%）";
      if (s.intent.runner_up) text += "；其次 " + s.intent.runner_up.name + " " + Math.round(s.intent.runner_up.confidence * 100) + "%";
      fact(facts, "最新意图", text);
    }
    if (s.problem) fact(facts, "问题", s.problem_name + "（" + s.problem + "）");
    if (s.order) {
      fact(facts, "订单", s.order.order_number + " · " + s.order.item_title);
      fact(facts, "实付", s.order.paid_total + "元 · " + s.order.order_status + (s.order.signed_at ? " · 签收 " + s.order.signed_at.slice(0, 16).replace("T", " ") : ""));
    }
    if (s.entities && s.entities.length) fact(facts, "实体", s.entities.map((e) => e.entity + "=" + e.value).join("，"));
    fact(facts, "历史索赔", s.claims.length ? s.claims.length + "笔" : "无");
    panel.appendChild(facts);
    if (s.intent && s.intent.ranking && s.intent.ranking.length) panel.appendChild(renderIntentCorrection(s));

    if (s.pack_rejected) {
      panel.appendChild(el("p", "risk", "规则包的最新修改未生效（仍按上一版规则处理）：" + s.pack_rejected));
    }
    if (s.risks.length) {
      const risks = el("div", "risks");
      for (const risk of s.risks) risks.appendChild(el("span", "risk", risk.label + "：" + risk.detail));
      panel.appendChild(risks);
    }
    if (s.handoff && s.handoff.summary) {
      const summary = el("details", "handoff");
      summary.open = true;
      summary.appendChild(el("summary", "", "转人工摘要（" + s.handoff.reason + "）"));
      summary.appendChild(el("pre", "", s.handoff.summary));
      panel.appendChild(summary);
    }
    if (!s.options.length) panel.appendChild(el("p", "muted", "还没有可用的方案（缺订单或问题类型）。"));
    for (const option of s.options) panel.appendChild(renderOption(s, option));
    for (const note of s.notes || []) panel.appendChild(el("p", "note", "提示（" + note.rule + "）：" + note.text));
  }

  // The learning loop: one click on the intent the buyer's latest message really meant stores a correction
  // (exported for the next training with `python -m bot nlu export-corrections`).
  function renderIntentCorrection(s) {
    const box = el("div", "intent-fix");
    box.appendChild(el("span", "label", "意图不对？点正确的："));
    for (const entry of s.intent.ranking) {
      const chip = el("button", "intent-chip" + (entry.name === s.intent.name ? " top" : ""),
                      entry.label + " " + Math.round(entry.confidence * 100) + "%");
      chip.type = "button";
      chip.dataset.intent = entry.name;
      chip.addEventListener("click", async () => {
        try {
          const result = await api("/api/agent/conversations/" + encodeURIComponent(state.current) + "/intent",
                                   { method: "POST", json: { intent: entry.name } });
          status.textContent = "已记录：" + result.label + "（下次训练会用到）";
          for (const other of box.querySelectorAll(".intent-chip")) other.classList.toggle("chosen", other === chip);
        } catch (error) { status.textContent = "没记下：" + error.message; }
      });
      box.appendChild(chip);
    }
    const status = el("span", "intent-fix-status", "");
    box.appendChild(status);
    return box;
  }

  function renderOption(s, option) {
    const card = el("div", "option" + (option.current ? " current" : "") + (option.refused ? " refused" : ""));
    card.dataset.index = option.index;
    const head = el("div", "option-head");
    head.appendChild(el("strong", "", "第" + (option.index + 1) + "步 · " + (option.parts_text || option.kind)));
    head.appendChild(el("span", "rule", "规则 " + option.rule + (option.rule_title ? " " + option.rule_title : "")));
    if (option.current) head.appendChild(el("span", "badge", "当前"));
    if (option.refused) head.appendChild(el("span", "badge grey", "买家已拒绝"));
    card.appendChild(head);
    card.appendChild(el("p", "rule-words", option.rule_in_words));
    if (option.limit_fen) card.appendChild(el("p", "limit", "金额 " + option.amount + " 元，上限 " + option.limit + " 元"));
    const draft = el("textarea", "draft");
    draft.rows = 3;
    draft.value = option.draft;
    card.appendChild(draft);
    const key = newKey("approve:" + (s.case ? s.case.id : "x") + ":" + option.index);
    const button = el("button", "approve", option.grantable ? "批准并发送" : "发送话术");
    button.type = "button";
    const status = el("span", "status");
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "发送中…";
      try {
        if (option.grantable) {
          if (!s.case) throw new Error("还没有售后单，无法批准赔付");
          const result = await api("/api/copilot/approve", { method: "POST", json: {
            conversation_id: state.current, case_id: s.case.id, option_index: option.index, text: draft.value,
            idempotency_key: key } });
          status.textContent = "已批准：" + result.grant.rows.map((r) => r.kind + " " + (r.amount_fen / 100) + "元").join("、");
        } else {
          await api("/api/agent/conversations/" + encodeURIComponent(state.current) + "/send",
                    { method: "POST", json: { text: draft.value, idempotency_key: key } });
          status.textContent = "已发送";
        }
        refreshThread();
      } catch (error) {
        status.textContent = "失败：" + error.message;
        button.disabled = false;
      }
    });
    const row = el("div", "option-actions");
    row.appendChild(button);
    row.appendChild(status);
    card.appendChild(row);
    return card;
  }

  // ------------------------------------------------------------------ actions
  function showError(message) {
    $("summary").hidden = false;
    $("summary").textContent = message;
  }

  $("reply").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text || !state.current) return;
    try {
      await api("/api/agent/conversations/" + encodeURIComponent(state.current) + "/send",
                { method: "POST", json: { text: text, idempotency_key: newKey("msg") } });
      $("reply-text").value = "";
      refreshThread();
    } catch (error) { showError(error.message); }
  });

  $("takeover").addEventListener("click", async () => {
    if (!state.current) return;
    try { await api("/api/agent/conversations/" + encodeURIComponent(state.current) + "/takeover", { method: "POST" }); }
    catch (error) { showError(error.message); }
    refreshThread(); refreshList();
  });

  $("handback").addEventListener("click", async () => {
    if (!state.current) return;
    try { await api("/api/agent/conversations/" + encodeURIComponent(state.current) + "/handback", { method: "POST" }); }
    catch (error) { showError(error.message); }
    refreshThread(); refreshList();
  });

  $("resolve").addEventListener("click", async () => {
    if (!state.current) return;
    try {
      const done = await api("/api/agent/conversations/" + encodeURIComponent(state.current) + "/resolve", { method: "POST" });
      showError(done.asked ? "已结案，已请买家评价" : "已结案（这个售后之前已邀请过评价）");
    } catch (error) { showError(error.message); }
    refreshThread(); refreshList();
  });

  function start() {
    if (!state.token) { showLogin(); return; }
    $("login").hidden = true;
    $("workspace").hidden = false;
    $("agent").textContent = "已登录";
    refreshList();
    const wanted = new URLSearchParams(location.search).get("conversation");
    if (wanted) openConversation(wanted);
  }
  start();
})();
