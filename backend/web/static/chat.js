// The resident's chat page. Talks only to the backend (never to Rasa), shows
// buttons as buttons, and never leaves the resident in silence: when the
// backend says a message is still pending it shows the busy notice and polls
// until the answers arrive. Text is always inserted with textContent, so
// nothing a resident or the bot writes is interpreted as HTML.
(function () {
  "use strict";
  var root = document.querySelector(".chat");
  var csrf = root.getAttribute("data-csrf");
  var texts = JSON.parse(root.getAttribute("data-texts"));
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("input");
  var sendButton = document.getElementById("send");
  var notice = document.getElementById("notice");
  var lastReplyId = 0;
  var pollTimer = null;

  // The log is the scroll container (the page itself is one screen high): keep its newest message in view.
  function scrollDown() {
    log.scrollTop = log.scrollHeight;
    var last = log.lastElementChild;
    if (last && last.scrollIntoView) { last.scrollIntoView({ block: "end" }); }
  }

  // Only the latest answer's buttons can be pressed: once the resident sends anything, older ones are spent.
  function retireButtons() {
    log.querySelectorAll(".buttons button").forEach(function (x) { x.disabled = true; });
  }

  function addBubble(who, text) {
    if (who === "user") { retireButtons(); }
    var item = document.createElement("li");
    item.className = "msg " + who;
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = text;
    item.appendChild(bubble);
    log.appendChild(item);
    scrollDown();
    return item;
  }

  function addReply(reply) {
    if (reply.id <= lastReplyId) { return; }
    lastReplyId = reply.id;
    var item = addBubble("bot", reply.text || "");
    if (!reply.text) { item.querySelector(".bubble").remove(); }
    if (reply.image) {
      var img = document.createElement("img");
      img.src = reply.image;
      img.alt = "图片";
      img.addEventListener("load", scrollDown);
      item.appendChild(img);
    }
    if (reply.buttons && reply.buttons.length) {
      var row = document.createElement("div");
      row.className = "buttons";
      reply.buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = b.title;
        button.addEventListener("click", function () {
          send(b.payload, b.title);
        });
        row.appendChild(button);
      });
      item.appendChild(row);
    }
    scrollDown();
  }

  function showNotice(text) {
    if (text) { notice.textContent = text; notice.hidden = false; }
    else { notice.textContent = ""; notice.hidden = true; }
  }

  // Poll every 2 s while a message waits for its answer, else every 20 s for news about tickets.
  function apply(update) {
    (update.replies || []).forEach(addReply);
    showNotice(update.notice);
    stopPoll();
    schedulePoll(update.pending > 0 ? 2000 : 20000);
  }

  function schedulePoll(delay) {
    if (pollTimer) { return; }
    pollTimer = setTimeout(function () {
      pollTimer = null;
      fetch("/api/chat/updates?after=" + lastReplyId, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(apply)
        .catch(function () { schedulePoll(delay || 2000); });
    }, delay || 2000);
  }

  function stopPoll() {
    if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
  }

  // Post to the chat API and show the answers, or say why the backend refused (422) or the network failed.
  function post(url, contentType, body, typed) {
    sendButton.disabled = true;
    return fetch(url + "?after=" + lastReplyId, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": contentType, "X-Requested-With": csrf },
      body: body
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (response.ok) { apply(answer); return; }
        // Too fast (429), too large to read (413) or nowhere to store it (503): the message was not taken; give the text back.
        if ((response.status === 429 || response.status === 413 || response.status === 503) && typed && !input.value) { input.value = typed; }
        showNotice(typeof answer.detail === "string" ? answer.detail : texts.refused);
      });
    }).catch(function () {
      showNotice(texts.offline);
    }).finally(function () {
      sendButton.disabled = false;
    });
  }

  function send(text, shown) {
    addBubble("user", shown || text);
    return post("/api/chat/messages", "application/json", JSON.stringify({ text: text }), text);
  }

  // A photo goes up as the request body; the backend checks it is an image and tells the conversation.
  var photoInput = document.getElementById("photo");
  photoInput.addEventListener("change", function () {
    var file = photoInput.files && photoInput.files[0];
    photoInput.value = "";
    if (!file) { return; }
    addBubble("user", "[照片]");
    post("/api/chat/photos", file.type || "application/octet-stream", file);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { showNotice(texts.empty); return; }
    input.value = "";
    send(text);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // Restore the conversation after a reload, answers to retried messages included: a pressed button reads as
  // its title (the history gives it), and every answer's buttons but the latest one's are disabled again.
  fetch("/api/chat/history", { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (history) {
      if (!history.items.length) {
        addBubble("bot", texts.welcome);
      }
      history.items.forEach(function (item) {
        if (item.text) {  // empty for a notification: news about a ticket that answers no message
          var bubble = addBubble("user", item.text);
          if (item.pending) { bubble.classList.add("pending"); }
        }
        item.replies.forEach(addReply);
      });
      showNotice(history.notice);
      schedulePoll(history.pending > 0 ? 2000 : 20000);
    })
    .catch(function () { addBubble("bot", texts.welcome); });
})();
