// The service report page: fetches /api/report with the agent's token and draws hand-written SVG charts.
// No library, no CDN, no inline script or style (the service's Content-Security-Policy forbids them).
(function () {
  "use strict";
  const TOKEN_KEY = "aftersales.agentToken"; // the console's login stores it under this key
  const SVG = "http://www.w3.org/2000/svg";
  const OUTCOME_NAMES = { automated: "机器人解决", handed_off: "转人工", abandoned: "放弃" };
  // Turn-taking intents say nothing about what buyers need help with; the intent chart leaves them out.
  const CONVERSATIONAL = new Set(["greet", "thank", "goodbye", "affirm", "deny", "provide_order_number",
    "out_of_scope", "(none)"]);
  const INTENT_NAMES = { damaged: "破损", leaking: "漏水", minor_defect: "瑕疵", quality_issue: "质量问题",
    wrong_item: "发错货", missing_item: "少件", not_received: "未收到", delivery_status: "查物流",
    late_shipment: "催发货", counterfeit: "假货", not_as_described: "描述不符", no_reason_return: "七天无理由",
    cancel_order: "取消订单", refund_status: "退款进度", invoice: "发票", price_protection: "价保",
    repair_warranty: "保修", shipping_fee: "运费", request_compensation: "要求赔偿", request_human: "转人工",
    complaint_escalation: "投诉升级" };
  const intentName = (intent) => (INTENT_NAMES[intent] ? `${INTENT_NAMES[intent]} ${intent}` : intent);
  const KIND_NAMES = { compensation: "补偿", review_rebate: "好评返现", refund: "退款", reship: "补寄",
    voucher: "代金券", points: "积分", shipping_subsidy: "运费补贴" };
  const $ = (id) => document.getElementById(id);

  // Money arrives as integer fen; shown as yuan with integer arithmetic (no floats).
  function yuan(fen) {
    const sign = fen < 0 ? "-" : "";
    const abs = Math.abs(fen);
    return sign + Math.floor(abs / 100).toLocaleString("zh-CN") + "." + String(abs % 100).padStart(2, "0");
  }
  const pct = (rate) => (rate === null || rate === undefined ? "-" : (rate * 100).toFixed(1) + "%");
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "-";
    const minutes = Math.round(seconds / 60);
    return minutes < 60 ? minutes + " 分钟" : Math.floor(minutes / 60) + " 小时 " + (minutes % 60) + " 分";
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, String(v)));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svgRoot(width, height, label) {
    return svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  }
  function niceMax(value) {
    if (value <= 0) return 1;
    const step = Math.pow(10, Math.floor(Math.log10(value)));
    return [1, 2, 2.5, 5, 10].map((m) => m * step).find((m) => m >= value);
  }

  // ------------------------------------------------------------------ charts

  const OUTCOME_SERIES = ["automated", "handed_off", "abandoned"].map((key) => ({ key, name: OUTCOME_NAMES[key] }));
  const RATING_SERIES = [{ key: "satisfied", name: "满意" }, { key: "neutral", name: "一般" },
    { key: "unsatisfied", name: "不满意" }, { key: "unanswered", name: "未回答" }];
  const COLOR = { automated: "#2f9e6e", handed_off: "#e8a33d", abandoned: "#c2c7cf", satisfied: "#2f9e6e",
    neutral: "#e8c23d", unsatisfied: "#d9534f", unanswered: "#c2c7cf" };

  function dailyChart(daily) {
    return stackedDays(daily, OUTCOME_SERIES, "每日对话数");
  }

  // One stacked bar per day: `days` are {day, <key>: count}, `series` the stacked keys, bottom first.
  function stackedDays(days, series, label) {
    const width = 900, height = 240, left = 36, bottom = 28, top = 10;
    const svg = svgRoot(width, height, label);
    const total = (d) => series.reduce((sum, s) => sum + (d[s.key] || 0), 0);
    const max = niceMax(Math.max(1, ...days.map(total)));
    const plotH = height - top - bottom, slot = (width - left - 8) / Math.max(1, days.length);
    const y = (v) => top + plotH - (v / max) * plotH;
    const ticks = max % 5 === 0 && max >= 5 ? 5 : 4; // whole numbers on the axis: 50 -> 10, 20 ...
    for (let i = 0; i <= ticks; i++) {
      const v = (max / ticks) * i;
      svg.appendChild(svgEl("line", { x1: left, x2: width - 4, y1: y(v), y2: y(v), class: "axis" }));
      svg.appendChild(svgEl("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, String(Math.round(v))));
    }
    days.forEach((d, i) => {
      let base = 0;
      const x = left + i * slot + slot * 0.15, w = slot * 0.7;
      series.forEach((s) => {
        const value = d[s.key] || 0;
        if (value > 0) {
          const bar = svgEl("rect", { x, y: y(base + value), width: w, height: y(base) - y(base + value),
            fill: COLOR[s.key], "data-series": s.key });
          bar.appendChild(svgEl("title", {}, `${d.day} ${s.name} ${value}`));
          svg.appendChild(bar);
        }
        base += value;
      });
      const every = Math.ceil(days.length / 15);
      if (i % every === 0) {
        svg.appendChild(svgEl("text", { x: x + w / 2, y: height - 10, "text-anchor": "middle" }, d.day.slice(5)));
      }
    });
    const legend = el("div", { class: "legend" });
    series.forEach((s) => {
      const item = el("span");
      item.appendChild(el("i", { class: "c-" + s.key }));
      item.appendChild(document.createTextNode(s.name));
      legend.appendChild(item);
    });
    return [svg, legend];
  }

  // Horizontal bars: rows of {label, value, text}; `reference` draws a marker per row.
  function barChart(rows, label, options) {
    const opts = options || {};
    const rowH = 24, labelW = opts.labelWidth || 170, width = 440, height = Math.max(1, rows.length) * rowH + 6;
    const svg = svgRoot(width, height, label);
    const max = opts.max || niceMax(Math.max(1, ...rows.map((r) => Math.max(r.value, r.reference || 0))));
    const plotW = width - labelW - 70;
    rows.forEach((r, i) => {
      const yTop = i * rowH + 3;
      svg.appendChild(svgEl("text", { x: labelW - 6, y: yTop + 15, "text-anchor": "end" }, r.label));
      const w = Math.max(0, (r.value / max) * plotW);
      const bar = svgEl("rect", { x: labelW, y: yTop + 3, width: w, height: rowH - 8, rx: 2,
        fill: r.color || "#3b6fb6" });
      bar.appendChild(svgEl("title", {}, `${r.label}: ${r.text}`));
      svg.appendChild(bar);
      svg.appendChild(svgEl("text", { x: labelW + w + 4, y: yTop + 15 }, r.text));
      if (r.reference !== undefined && r.reference !== null) {
        const rx = labelW + (r.reference / max) * plotW;
        const mark = svgEl("line", { x1: rx, x2: rx, y1: yTop, y2: yTop + rowH - 2, stroke: "#1f2933",
          "stroke-width": 2, "stroke-dasharray": "3 2" });
        mark.appendChild(svgEl("title", {}, `参考水平 ${r.reference}`));
        svg.appendChild(mark);
      }
    });
    return svg;
  }

  // ------------------------------------------------------------------ tables and cards

  function table(node, headers, rows, numeric) {
    node.replaceChildren();
    if (!rows.length) {
      node.appendChild(el("caption", { class: "empty" }, "本期无数据"));
      return;
    }
    const head = el("tr");
    headers.forEach((h, i) => head.appendChild(el("th", { class: numeric.includes(i) ? "num" : "" }, h)));
    node.appendChild(head);
    rows.forEach((cells) => {
      const tr = el("tr");
      cells.forEach((c, i) => {
        if (c && c.href) { // a link cell: {href, text}; the href comes from our own report, still set as an attribute
          const td = el("td");
          td.appendChild(el("a", { href: c.href, target: "_blank", rel: "noopener" }, c.text));
          tr.appendChild(td);
          return;
        }
        tr.appendChild(el("td", { class: numeric.includes(i) ? "num" : (c && c.orders ? "orders" : "") },
          c && c.orders ? c.orders : c));
      });
      node.appendChild(tr);
    });
  }

  // Hand-offs taken by an agent within the platform's deadline (bot.service.deadlines).
  function deadlineCard(rows) {
    const all = rows.find((r) => r.kind === "all");
    const share = all && all.share !== null ? (all.share * 100).toFixed(0) + "%" : "-";
    return card("时限内处理", share, all ? `${all.in_time} 准时 / ${all.late} 超时，${all.waiting_not_due} 未到期` : "无转人工");
  }

  // Buyers' satisfaction when their cases ended (bot.report.satisfaction).
  const RESOLVER_NAMES = { bot: "机器人解决", agent: "人工解决" };
  const RESOLUTION_NAMES = { agent_closed: "人工结案", already_refunded: "已退过差价" };
  function satisfactionCard(sat) {
    if (!sat || !sat.total.asked) return card("买家满意度", "-", "本期未邀评");
    return card("买家满意度", pct(sat.total.satisfied_share),
      `${sat.total.answered}/${sat.total.asked} 已评价，不满意 ${sat.total.unsatisfied}`);
  }
  function ratingCells(r, label) {
    return [label, r.asked, r.answered, r.satisfied, r.neutral, r.unsatisfied, pct(r.satisfied_share)];
  }
  const RATING_HEADERS = ["邀评", "已评", "满意", "一般", "不满意", "满意率"];
  function renderSatisfaction(sat) {
    const days = (sat ? sat.daily : []).map((r) => ({ day: r.key, satisfied: r.satisfied, neutral: r.neutral,
      unsatisfied: r.unsatisfied, unanswered: r.asked - r.answered }));
    $("satisfaction-chart").replaceChildren(...(days.length ? stackedDays(days, RATING_SERIES, "每日满意度")
      : [el("p", { class: "empty" }, "无数据")]));
    const rows = (list, name) => (sat ? list(sat) : []).map((r) => ratingCells(r, name(r.key)));
    table($("satisfaction-resolver-table"), ["谁解决", ...RATING_HEADERS],
      rows((x) => x.by_resolver, (k) => RESOLVER_NAMES[k] || k), [1, 2, 3, 4, 5, 6]);
    table($("satisfaction-intent-table"), ["意图", ...RATING_HEADERS],
      rows((x) => x.by_intent, intentName), [1, 2, 3, 4, 5, 6]);
    table($("satisfaction-kind-table"), ["解决方式", ...RATING_HEADERS],
      rows((x) => x.by_resolution_kind, (k) => RESOLUTION_NAMES[k] || k), [1, 2, 3, 4, 5, 6]);
    table($("unsatisfied-table"), ["订单号", "意图", "解决方式", "解决人", "买家留言", "评价时间", "对话"],
      (sat ? sat.unsatisfied : []).map((u) => [{ orders: u.order_number || "-" }, intentName(u.intent),
        RESOLUTION_NAMES[u.resolution_kind] || u.resolution_kind, u.resolved_by, u.comment || "",
        u.answered_at.slice(0, 16).replace("T", " "), { href: u.transcript_url, text: "查看对话" }]), []);
  }

  function card(label, value, sub) {
    const node = el("div", { class: "card" });
    node.appendChild(el("div", { class: "label" }, label));
    node.appendChild(el("div", { class: "value" }, value));
    if (sub) node.appendChild(el("div", { class: "sub" }, sub));
    return node;
  }

  function render(data) {
    const conv = data.conversations;
    const cards = $("cards");
    cards.replaceChildren(
      card("对话数", conv ? conv.total.toLocaleString("zh-CN") : "-", `${data.period.days.length} 天`),
      card("机器人解决率", conv ? pct(conv.automation_rate) : "-", conv ? `${conv.automated} 个对话` : ""),
      card("转人工", conv ? String(conv.handed_off) : "-", conv ? `其中投诉升级 ${conv.escalated}` : ""),
      card("放弃", conv ? String(conv.abandoned) : "-", "未答完表单或未回应方案"),
      card("赔付合计 (元)", yuan(data.compensation.total_fen), `${data.cases.total} 个售后工单`),
      card("好评返现未付 (元)", yuan(data.promised_unpaid.rebates_fen), "已承诺，待买家评价"),
      card("解决用时中位数", duration(data.cases.median_resolution_s),
        "机器人单独：" + duration(data.cases.median_bot_resolution_s)),
      card("重复索赔买家", String(data.repeat_claimers.length), "本期 ≥2 次获赔"),
      card("服务体验总分", data.score.total === null ? "-" : data.score.total.toFixed(1),
        "参考 " + data.score.reference_total.toFixed(1)),
      deadlineCard(data.deadlines || []),
      satisfactionCard(data.satisfaction));
    renderSatisfaction(data.satisfaction);

    const notes = $("notes");
    notes.hidden = !data.notes.length;
    notes.textContent = data.notes.join("；");

    const daily = $("daily-chart");
    daily.replaceChildren(...(conv ? dailyChart(conv.daily) : [el("p", { class: "empty" }, "无对话数据")]));

    $("score-chart").replaceChildren(barChart(data.score.parts.map((p) => ({
      label: p.title, value: p.score || 0, reference: p.reference,
      text: p.score === null ? "-" : `${p.score.toFixed(1)} (${p.versus_reference >= 0 ? "+" : ""}${p.versus_reference})`,
      color: p.score !== null && p.score >= p.reference ? "#2f9e6e" : "#d9534f",
    })), "服务体验分", { max: 100, labelWidth: 100 }));

    const intents = data.intents.filter((i) => !CONVERSATIONAL.has(i.intent)).slice(0, 12);
    $("intent-chart").replaceChildren(intents.length
      ? barChart(intents.map((i) => ({ label: intentName(i.intent), value: i.messages, text: String(i.messages) })), "意图")
      : el("p", { class: "empty" }, "本期无数据"));

    const kinds = data.compensation.by_kind;
    $("kind-chart").replaceChildren(kinds.length
      ? barChart(kinds.map((k) => ({ label: KIND_NAMES[k.key] || k.key, value: k.amount_fen,
        text: `${yuan(k.amount_fen)} (${k.entries} 笔)`, color: "#6b5bd2" })), "赔付类型")
      : el("p", { class: "empty" }, "本期无赔付"));

    table($("rule-table"), ["规则", "名称", "笔数", "金额(元)"],
      data.compensation.by_rule.map((r) => [r.key, r.title, r.entries, yuan(r.amount_fen)]), [2, 3]);
    table($("scenario-table"), ["意图", "规则", "商品", "工单", "订单号"],
      data.scenarios.map((s) => [intentName(s.intent), `${s.rule_id} ${s.rule_title}`, s.product, s.cases,
        { orders: s.order_numbers.join(" ") }]), [3]);
    table($("claimer-table"), ["买家", "获赔次数", "金额(元)"],
      data.repeat_claimers.slice(0, 15).map((c) => [c.buyer_id, c.claims, yuan(c.amount_fen)]), [1, 2]);
    table($("unpaid-table"), ["类型", "笔数", "金额(元)"],
      data.promised_unpaid.by_kind.map((k) => [KIND_NAMES[k.key] || k.key, k.entries, yuan(k.amount_fen)]), [1, 2]);
  }

  // ------------------------------------------------------------------ loading

  function showLogin(message) {
    $("report").hidden = true;
    $("login").hidden = false;
    $("login-hint").textContent = message || "";
  }

  async function load() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) { showLogin(); return; }
    const params = new URLSearchParams({ since: $("since").value, until: $("until").value });
    $("status").textContent = "加载中…";
    const response = await fetch("/api/report?" + params, { headers: { Authorization: "Bearer " + token } });
    if (response.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("令牌无效，请重新登录");
      $("status").textContent = "";
      return;
    }
    const data = await response.json();
    if (!response.ok) { $("status").textContent = data.error || "加载失败"; return; }
    $("login").hidden = true;
    $("report").hidden = false;
    render(data);
    $("status").textContent = `统计区间 ${data.period.since} 至 ${data.period.until}（不含），生成于 ${data.generated_at}`;
    document.body.dataset.loaded = "1"; // the browser test waits for this
  }

  function isoDay(date) {
    const local = new Date(date.getTime() + 8 * 3600 * 1000); // China time
    return local.toISOString().slice(0, 10);
  }

  function init() {
    const now = new Date();
    $("until").value = isoDay(new Date(now.getTime() + 24 * 3600 * 1000));
    $("since").value = isoDay(new Date(now.getTime() - 28 * 24 * 3600 * 1000));
    $("period").addEventListener("submit", (event) => { event.preventDefault(); load(); });
    $("login").addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      load();
    });
    load();
  }

  init();
})();
