// Embed snippet: <script src="https://<bot host>/embed.js" data-token="<signed buyer token>" async></script>
// Adds a 联系客服 button that opens the chat widget in an iframe (the token travels in the URL fragment,
// which browsers never send to a server or put in logs).
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src).origin;
  var token = script.getAttribute("data-token") || "";
  var frame = null;

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = script.getAttribute("data-label") || "联系客服";
  button.setAttribute("style", "position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:10px 18px;" +
    "border:0;border-radius:22px;background:#ff5000;color:#fff;font-size:15px;box-shadow:0 2px 8px rgba(0,0,0,.2);cursor:pointer");

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = "售后客服";
      frame.src = origin + "/widget?embed=1" + (token ? "#token=" + encodeURIComponent(token) : "");
      frame.setAttribute("style", "position:fixed;right:16px;bottom:70px;z-index:2147483000;width:min(380px,calc(100vw - 32px));" +
        "height:min(600px,calc(100vh - 100px));border:0;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);background:#fff");
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
  }
  button.addEventListener("click", open);
  document.body.appendChild(button);
})();
