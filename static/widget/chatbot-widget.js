/* Handoff chat widget. Embed with one tag, on any site listed in the chatbot's origins:
 *
 *   <script src="https://handoff.example.com/static/widget/chatbot-widget.js"
 *           data-chatbot="CHATBOT_KEY" async></script>
 *
 * One IIFE, no dependencies, no build step. The only global is `window.HandoffWidget`
 * (open() / close()). Everything lives in an open Shadow DOM, styled by a constructed
 * stylesheet, so the host page's CSS cannot reach in and a strict CSP (style-src 'self')
 * does not block it. Text from visitors, bots and agents enters the page with textContent
 * only, never as HTML. See docs/embedding.md.
 *
 * Four parts, each an object that the others use only through its public names:
 *   store  what the widget remembers: session, request, bot lines, the outbox of unsent
 *          messages (localStorage), the ids already delivered and the replay cursor
 *   api    the HTTP calls
 *   live   the WebSocket (connect, reconnect, frames), delivery of the outbox, gap
 *          detection and catch-up over HTTP, typing frames
 *   view   the Shadow DOM: building, drawing messages, status, and the controls' handlers
 * The limits the server enforces (page size, message length) come with its config answer,
 * and so do its texts: `strings`, in the language the server chose from the tag's
 * `data-lang` and the browser's languages (chatbots/widget_strings.py). The English here
 * is only a fallback for a key an older server does not send.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) return;
  var KEY = script.getAttribute("data-chatbot");
  if (!KEY) {
    if (window.console) console.warn("Handoff widget: the script tag needs data-chatbot=\"KEY\".");
    return;
  }
  if (window.HandoffWidget && window.HandoffWidget.key === KEY) return; // included twice

  // The API lives where the script came from: strip ".../static/widget/chatbot-widget.js".
  var BASE =
    script.getAttribute("data-api") ||
    script.src.replace(/\/static\/widget\/chatbot-widget\.js(?:[?#].*)?$/, "").replace(/\/+$/, "");
  if (BASE === script.src) BASE = new URL(script.src).origin;

  /* ----------------------------------------------------------------- language -- */

  // The visitor's languages, best first: the page's choice, then the browser's. The server
  // picks the first it ships (else the chatbot's language) and answers in it.
  var PREFERRED_LANGUAGES = [script.getAttribute("data-lang")]
    .concat(navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language])
    .filter(function (tag) {
      return typeof tag === "string" && /^[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*$/.test(tag.trim());
    })
    .map(function (tag) {
      return tag.trim();
    })
    .slice(0, 10);

  var LANGUAGE = null; // the config answer's `language`, sent on every later call
  var STRINGS = {}; // the config answer's `strings`
  var FALLBACK_STRINGS = {
    open_chat: "Open chat",
    chat_with: "Chat with {name}",
    minimize_chat: "Minimize chat",
    conversation: "Conversation",
    speak_to_human: "Speak to a human",
    talk_to_person: "Talk to a person",
    end_conversation: "End conversation",
    new_conversation: "Start a new conversation",
    message_label: "Message",
    message_placeholder: "Type a message…",
    send: "Send",
    sending: "Sending…",
    form_intro: "Leave a message and someone from our team will join this chat.",
    name_label: "Name",
    email_label: "Email",
    optional: "Optional",
    email_note: "Optional: so we can write back if you leave",
    cancel: "Cancel",
    email_invalid: "Enter a valid email address, or leave it empty.",
    message_required: "Please write a message.",
    agent: "Agent",
    status_pending: "Waiting for an agent",
    status_active: "An agent joined",
    status_active_named: "{name} joined",
    status_resolved: "Resolved. Write again if you need more help.",
    status_closed: "This conversation is closed.",
    agent_typing: "The agent is typing…",
    agent_typing_named: "{name} is typing…",
    offline: "You are offline. Your messages will be sent when the connection is back.",
    offline_retry: "You seem to be offline. Please try again.",
    session_expired: "Your chat session has expired. Please start again.",
    conversation_gone: "This conversation is no longer available.",
    error_status: "Something went wrong ({status}).",
  };

  // A text of the catalog, its {placeholders} filled (split/join: a name is never a pattern).
  function t(key, params) {
    var text = typeof STRINGS[key] === "string" && STRINGS[key] ? STRINGS[key] : FALLBACK_STRINGS[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(params[name]));
    });
    return text;
  }

  function useLanguage(config) {
    STRINGS = config.strings && typeof config.strings === "object" ? config.strings : {};
    LANGUAGE = typeof config.language === "string" ? config.language : null;
  }

  /* -------------------------------------------------------------------- store -- */

  var store = (function () {
    var STORE_KEY = "handoff-widget:" + KEY;
    var BOT_LOG_LIMIT = 100;

    var memoryStore = {};
    function load() {
      try {
        var raw = window.localStorage.getItem(STORE_KEY);
        return raw ? JSON.parse(raw) : {};
      } catch (e) {
        return memoryStore; // storage blocked (privacy mode, sandbox): this page only
      }
    }
    var state = load();
    state.bot = state.bot || [];
    state.outbox = state.outbox || [];
    function save() {
      try {
        window.localStorage.setItem(STORE_KEY, JSON.stringify(state));
      } catch (e) {
        memoryStore = state;
      }
    }

    // Not persisted: each page load draws the conversation afresh, replayed from id 0.
    var delivered = {};
    var lastId = 0;
    var agentName = null;

    function newClientId() {
      if (window.crypto && crypto.randomUUID) return "w-" + crypto.randomUUID();
      return "w-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
    }

    return {
      sessionId: function () {
        return state.session_id;
      },
      token: function () {
        return state.token;
      },
      hasSession: function () {
        return !!(state.session_id && state.token);
      },
      setSession: function (sessionId, token) {
        state.session_id = sessionId;
        state.token = token;
        save();
      },
      // Unsaved: if starting a new session fails too, the next page load tries the old one.
      dropSession: function () {
        state.session_id = null;
        state.token = null;
      },
      forgetSession: function () {
        state = { bot: [], outbox: [] };
        save();
      },

      requestId: function () {
        return state.request_id;
      },
      status: function () {
        return state.status;
      },
      setRequest: function (requestId, status) {
        state.request_id = requestId;
        state.status = status;
        save();
      },
      setStatus: function (status, name) {
        if (name) agentName = name;
        state.status = status;
        save();
      },
      forgetRequest: function () {
        state.request_id = null;
        state.status = null;
        state.outbox = [];
        save();
      },
      agentName: function () {
        return agentName;
      },
      setAgentName: function (name) {
        agentName = name;
      },

      botLines: function () {
        return state.bot;
      },
      rememberBotLine: function (line) {
        state.bot.push(line);
        if (state.bot.length > BOT_LOG_LIMIT) state.bot = state.bot.slice(-BOT_LOG_LIMIT);
        save();
      },

      outbox: function () {
        return state.outbox;
      },
      queue: function (text) {
        var item = { client_id: newClientId(), text: text };
        state.outbox.push(item);
        save();
        return item;
      },
      acknowledge: function (clientId) {
        var before = state.outbox.length;
        state.outbox = state.outbox.filter(function (item) {
          return item.client_id !== clientId;
        });
        if (state.outbox.length !== before) save();
      },

      // False for an id already delivered; otherwise records it and moves the cursor.
      deliver: function (id) {
        if (delivered[id]) return false;
        delivered[id] = true;
        if (id > lastId) lastId = id;
        return true;
      },
      lastId: function () {
        return lastId;
      },
      resetDelivered: function () {
        delivered = {};
        lastId = 0;
      },

      wasOpen: function () {
        return !!state.open;
      },
      setOpen: function (open) {
        state.open = open;
        save();
      },
    };
  })();

  /* ---------------------------------------------------------------------- api -- */

  var api = (function () {
    function call(method, path, body, auth) {
      return callWithStatus(method, path, body, auth).then(function (answer) {
        return answer.data;
      });
    }

    // Resolves {status, data}: where 200 and 201 mean different things (see askForHuman).
    function callWithStatus(method, path, body, auth) {
      var headers = { Accept: "application/json" };
      // The language the config chose: the server answers (errors, the bot) and stores the
      // visitor's language in it. A CORS-safelisted header: no preflight of its own.
      if (LANGUAGE) headers["Accept-Language"] = LANGUAGE;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (auth && store.token()) headers.Authorization = "Bearer " + store.token();
      return fetch(BASE + path, {
        method: method,
        headers: headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        mode: "cors",
      }).then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            if (!response.ok) {
              var error = new Error(data.detail || t("error_status", { status: response.status }));
              error.status = response.status;
              error.data = data;
              throw error;
            }
            return { status: response.status, data: data };
          });
      });
    }

    function requestPath(requestId) {
      return "/human-support/requests/" + encodeURIComponent(requestId);
    }

    // One session per visitor: concurrent callers (opening the panel, a first message)
    // share the one request in flight.
    var sessionStarting = null;
    function ensureSession() {
      if (store.hasSession()) return Promise.resolve();
      if (!sessionStarting) {
        sessionStarting = call("POST", "/api/chatbots/" + encodeURIComponent(KEY) + "/sessions", {}, false)
          .then(function (data) {
            store.setSession(data.session_id, data.token);
          })
          .then(
            function () {
              sessionStarting = null;
            },
            function (error) {
              sessionStarting = null;
              throw error;
            }
          );
      }
      return sessionStarting;
    }

    return {
      config: function () {
        var query = PREFERRED_LANGUAGES.length ? "?lang=" + encodeURIComponent(PREFERRED_LANGUAGES.join(",")) : "";
        return call("GET", "/api/chatbots/" + encodeURIComponent(KEY) + "/config" + query, undefined, false);
      },
      ensureSession: ensureSession,
      messageBot: function (text) {
        return call("POST", "/api/sessions/" + encodeURIComponent(store.sessionId()) + "/messages", { message: text }, true);
      },
      // Resolves {status, data}: 200 is an open request the session already had, which the
      // server returns without storing this initial message; 201 is a new one.
      askForHuman: function (fields) {
        return callWithStatus("POST", "/human-support/request", fields, true);
      },
      request: function (requestId) {
        return call("GET", requestPath(requestId), undefined, true);
      },
      messagesAfter: function (requestId, after) {
        return call("GET", requestPath(requestId) + "/messages?after=" + after, undefined, true);
      },
      sendMessage: function (requestId, item) {
        return call("POST", requestPath(requestId) + "/messages", { message: item.text, client_id: item.client_id }, true);
      },
      closeRequest: function (requestId) {
        return call("POST", requestPath(requestId) + "/close", {}, true);
      },
    };
  })();

  /* --------------------------------------------------------------------- live -- */

  var live = (function () {
    var WS_BASE = BASE.replace(/^http/, "ws");
    var RECONNECT_MIN_MS = 500;
    var RECONNECT_MAX_MS = 15000;
    var ECHO_TIMEOUT_MS = 4000;
    var GAP_RETRY_MS = 5000;
    var pageSize = null; // the server's message_page_size: a full page may have more behind it
    var started = false;

    var socket = null;
    var attempt = 0;
    var reconnectTimer = null;

    function send(frame) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(frame));
        return true;
      }
      return false;
    }

    function disconnect() {
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (socket) {
        var old = socket;
        socket = null;
        old.onclose = null;
        old.close();
      }
    }

    function connect() {
      if (!store.requestId() || !store.token() || socket) return;
      if (navigator.onLine === false) {
        scheduleReconnect(); // the "online" event brings us back at once
        return;
      }
      var requestId = store.requestId();
      var url =
        WS_BASE +
        "/human-support/ws/" +
        encodeURIComponent(requestId) +
        "?token=" +
        encodeURIComponent(store.token()) +
        "&after=" +
        store.lastId();
      var ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        scheduleReconnect();
        return;
      }
      socket = ws;
      ws.onopen = function () {
        attempt = 0;
        view.clearOffline();
        sentAt = {}; // resend what the last socket may have lost
        flush();
        catchUp();
      };
      ws.onmessage = function (event) {
        var frame;
        try {
          frame = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        onFrame(frame);
      };
      ws.onclose = function (event) {
        if (socket !== ws) return;
        socket = null;
        if (event.code === 4401) {
          view.forgetSession(t("session_expired"));
          return;
        }
        if (event.code === 4403 || event.code === 4404) {
          view.forgetRequest(t("conversation_gone"));
          return;
        }
        scheduleReconnect();
      };
    }

    function scheduleReconnect() {
      if (reconnectTimer || !store.requestId()) return;
      var delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * Math.pow(2, attempt));
      attempt += 1;
      reconnectTimer = setTimeout(function () {
        reconnectTimer = null;
        connect();
      }, delay / 2 + Math.random() * (delay / 2));
    }

    // A dropped network rarely closes a socket promptly (TCP waits); the browser's own
    // "offline" does not wait: close now, keep typed messages in the outbox, and resume
    // with ?after= when the network is back.
    window.addEventListener("offline", function () {
      if (!store.requestId() || !started) return;
      if (socket) {
        var old = socket;
        socket = null;
        old.onclose = null;
        old.close();
      }
      view.showOffline();
      scheduleReconnect();
    });

    window.addEventListener("online", function () {
      if (!socket && store.requestId()) {
        clearTimeout(reconnectTimer);
        reconnectTimer = null;
        attempt = 0;
        connect();
      }
    });

    function onFrame(frame) {
      if (frame.type === "history") {
        (frame.messages || []).forEach(view.showSupportMessage);
        if (frame.status && frame.status !== store.status()) {
          view.setStatus(frame.status);
          refreshRequest();
        }
      } else if (frame.type === "message") {
        received(frame.message);
      } else if (frame.type === "status") {
        view.setStatus(frame.status, frame.agent_name);
        catchUp();
      } else if (frame.type === "typing" && frame.sender_type === "admin") {
        view.showAgentTyping(frame.typing);
      } else if (frame.type === "error") {
        if (frame.client_id && (frame.code === "closed" || frame.code === "blank" || frame.code === "too_long" || frame.code === "invalid")) {
          view.drop(frame.client_id, frame.detail);
        } else if (frame.client_id && frame.code === "busy") {
          // The server stored nothing and is shedding load: send it again when it says
          // (over HTTP, the outbox's retry path), with the same client_id.
          var wait = Number(frame.retry_after_ms) || 1000;
          sentAt[frame.client_id] = Date.now() - ECHO_TIMEOUT_MS + wait;
          clearTimeout(flushTimer);
          flushTimer = setTimeout(flush, wait + 10);
        } else if (frame.client_id) {
          // Rate limited or a server hiccup: the HTTP path retries it shortly.
          sentAt[frame.client_id] = 1;
          flush();
        }
      }
    }

    /* ------------------------------------------------- catch-up and gap fill -- */

    // Every message after `after`, page by page: a contiguous read, so no gap check.
    function readAfter(after) {
      var requestId = store.requestId();
      if (!requestId) return Promise.resolve();
      return api.messagesAfter(requestId, after).then(function (data) {
        if (store.requestId() !== requestId) return; // another conversation by now
        var messages = data.messages || [];
        messages.forEach(view.showSupportMessage);
        if (messages.length >= pageSize) return readAfter(messages[messages.length - 1].id);
      });
    }

    // What a dropped broadcast or a reconnect may have taken away is in the database.
    function catchUp() {
      return readAfter(store.lastId()).catch(function () {});
    }

    var gapFrom = null;
    var gapTimer = null;
    function fillGap(from, delay) {
      gapFrom = gapFrom === null ? from : Math.min(gapFrom, from);
      if (gapTimer) return;
      // Debounced: a burst of skipped ids costs one read.
      gapTimer = setTimeout(function () {
        var after = gapFrom;
        gapFrom = null;
        gapTimer = null;
        readAfter(after).catch(function (error) {
          // The cursor is already past the gap, so nothing else would read it: try again.
          if (!error.status || error.status === 429 || error.status >= 500) fillGap(after, GAP_RETRY_MS);
        });
      }, delay || 250);
    }

    function cancelGapFill() {
      clearTimeout(gapTimer);
      gapTimer = null;
      gapFrom = null;
    }

    /* A message learned outside a contiguous read (a live frame, or the answer to an HTTP
     * send) moves the replay cursor past every id below it. If it skipped ids, one of them
     * may be a message of this conversation whose broadcast was dropped, and no later
     * ?after= read would look below the cursor again: read the skipped range now. Ids are
     * shared by all requests, so a skip is only a possible gap (docs/decisions.md). */
    function received(m) {
      if (!m || typeof m.id !== "number") return;
      var previous = store.lastId();
      view.showSupportMessage(m);
      if (m.id > previous + 1) fillGap(previous);
    }

    function refreshRequest() {
      if (!store.requestId()) return Promise.resolve();
      var requestId = store.requestId();
      return api
        .request(requestId)
        .then(function (data) {
          if (store.requestId() === requestId) view.setStatus(data.status, data.agent_name);
        })
        .catch(function (error) {
          if (error.status === 404) view.forgetRequest(t("conversation_gone"));
          if (error.status === 401) view.forgetSession(t("session_expired"));
        });
    }

    /* ------------------------------------------------------ outbox delivery -- */

    var sentAt = {};
    var flushTimer = null;

    /* Every unacknowledged message goes out over the socket when it is open; one whose echo
     * has not come back in a few seconds goes again over HTTP. Both carry its client_id,
     * so however many times it is sent, the server stores it once. */
    function flush() {
      clearTimeout(flushTimer);
      flushTimer = null;
      if (!store.requestId() || !store.outbox().length) return;
      var now = Date.now();
      store.outbox().forEach(function (item) {
        var last = sentAt[item.client_id];
        if (last === undefined || (last && now - last > ECHO_TIMEOUT_MS)) {
          if (last === undefined && send({ type: "message", text: item.text, client_id: item.client_id })) {
            sentAt[item.client_id] = now;
          } else {
            sentAt[item.client_id] = 0; // an HTTP send is under way
            postOverHttp(item);
          }
        }
      });
      if (store.outbox().length) flushTimer = setTimeout(flush, ECHO_TIMEOUT_MS);
    }

    function postOverHttp(item) {
      var requestId = store.requestId();
      api
        .sendMessage(requestId, item)
        .then(function (message) {
          if (store.requestId() !== requestId) return; // that conversation is gone from here
          received(message);
          view.acknowledge(item.client_id);
        })
        .catch(function (error) {
          if (error.status === 409 || error.status === 400 || error.status === 413) {
            view.drop(item.client_id, error.message);
            if (error.status === 409) refreshRequest();
            return;
          }
          // Offline or throttled: try again later with the same client_id.
          sentAt[item.client_id] = Date.now();
          if (!flushTimer) flushTimer = setTimeout(flush, ECHO_TIMEOUT_MS);
        });
    }

    /* --------------------------------------------------------------- typing -- */

    var lastTypingSent = 0;
    var typingStopTimer = null;
    function sendTyping(isTyping) {
      clearTimeout(typingStopTimer);
      if (!store.requestId() || store.status() === "closed") return;
      if (isTyping) {
        if (Date.now() - lastTypingSent > 2500 && send({ type: "typing", typing: true })) {
          lastTypingSent = Date.now();
        }
        typingStopTimer = setTimeout(function () {
          sendTyping(false);
        }, 4000);
      } else if (lastTypingSent) {
        lastTypingSent = 0;
        send({ type: "typing", typing: false });
      }
    }

    // After the view is on the page: it is what frames and answers draw into.
    function start(config) {
      pageSize = config.message_page_size;
      started = true;
      if (store.requestId()) {
        refreshRequest();
        connect();
      }
      // Anything a dropped broadcast took away, even while the socket stays up.
      setInterval(function () {
        if (socket && store.requestId() && store.status() !== "closed") catchUp();
      }, 30000);
    }

    return {
      start: start,
      connect: connect,
      disconnect: disconnect,
      flush: flush,
      catchUp: catchUp,
      cancelGapFill: cancelGapFill,
      refreshRequest: refreshRequest,
      sendTyping: sendTyping,
    };
  })();

  /* --------------------------------------------------------------------- view -- */

  var view = (function () {
    var EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

    /* --------------------------------------------------------------- styles -- */

    var CSS = [
      ":host{all:initial !important;display:block !important;position:static !important;}",
      "[hidden]{display:none !important;}",
      ".hw{all:initial;position:fixed;inset-inline-end:20px;bottom:20px;z-index:2147483000;",
      "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;",
      "font-size:14px;line-height:20px;color:#1f2937;--hw-accent:#2563eb;}",
      ".hw *,.hw *::before,.hw *::after{box-sizing:border-box;margin:0;padding:0;border:0;",
      "font:inherit;color:inherit;letter-spacing:normal;text-transform:none;text-align:start;",
      "text-decoration:none;text-indent:0;background:none;float:none;width:auto;height:auto;",
      "max-width:none;min-width:0;opacity:1;visibility:visible;}",
      ".hw button{cursor:pointer;}",
      ".hw :focus-visible{outline:3px solid #f59e0b;outline-offset:2px;}",
      ".launcher{display:flex;align-items:center;justify-content:center;width:56px;height:56px;",
      "border-radius:28px;background:var(--hw-accent);color:#fff;",
      "box-shadow:0 6px 20px rgba(0,0,0,.25);}",
      ".launcher svg{width:28px;height:28px;fill:#fff;}",
      ".panel{display:flex;flex-direction:column;position:fixed;inset-inline-end:20px;bottom:20px;",
      "width:370px;height:600px;max-height:calc(100vh - 40px);background:#fff;",
      "border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.3);overflow:hidden;}",
      ".head{display:flex;align-items:center;gap:8px;padding-block:12px;padding-inline:16px 12px;",
      "background:var(--hw-accent);color:#fff;flex:none;}",
      ".head .titles{flex:1;min-width:0;display:flex;flex-direction:column;}",
      ".title{display:block;font-size:16px;line-height:22px;font-weight:600;color:#fff;",
      "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;}",
      ".status{display:block;font-size:12px;line-height:16px;color:#fff;opacity:.95;}",
      ".status:empty{display:none;}",
      ".minimize{width:36px;height:36px;border-radius:18px;color:#fff;font-size:22px;",
      "line-height:36px;text-align:center;flex:none;}",
      ".minimize:hover{background:rgba(255,255,255,.18);}",
      ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;",
      "list-style:none;background:#f8fafc;}",
      ".msg{display:block;max-width:85%;padding:8px 10px;border-radius:12px;background:#e5e7eb;",
      "color:#111827;align-self:flex-start;white-space:pre-wrap;overflow-wrap:anywhere;}",
      ".msg .who{display:block;font-size:11px;line-height:14px;font-weight:600;opacity:.75;}",
      ".msg .text{display:block;}",
      ".msg time{display:block;font-size:11px;line-height:14px;opacity:.65;text-align:end;}",
      ".msg.mine{align-self:flex-end;background:var(--hw-accent);color:#fff;}",
      ".msg.agent{background:#dcfce7;color:#052e16;}",
      ".msg.system{align-self:center;background:none;color:#6b7280;font-size:12px;",
      "line-height:16px;text-align:center;padding:2px 8px;max-width:100%;}",
      ".msg.system time{display:inline;margin-inline-start:6px;}",
      ".msg.pending{opacity:.6;}",
      ".msg.hint{background:#fef3c7;color:#78350f;}",
      ".msg .offer{display:inline-block;margin:6px 0 2px;white-space:normal;}",
      ".typing{flex:none;padding:2px 14px;font-size:12px;line-height:16px;color:#6b7280;",
      "font-style:italic;background:#f8fafc;}",
      ".bar{flex:none;display:flex;flex-wrap:wrap;gap:8px;padding:8px 12px 0;background:#fff;}",
      ".chip{padding:6px 12px;border-radius:16px;border:1px solid var(--hw-accent);",
      "color:var(--hw-accent);background:#fff;font-size:13px;line-height:18px;font-weight:600;}",
      ".chip.attention{background:var(--hw-accent);color:#fff;}",
      ".chip.quiet{border-color:#d1d5db;color:#374151;font-weight:400;}",
      ".composer{flex:none;display:flex;gap:8px;align-items:flex-end;padding:10px 12px 12px;",
      "background:#fff;border-top:1px solid #e5e7eb;}",
      ".composer textarea{flex:1;min-height:40px;max-height:120px;resize:none;}",
      ".field,.composer textarea{display:block;width:100%;padding:8px 10px;border:1px solid #cbd5e1;",
      "border-radius:8px;background:#fff;color:#111827;font-size:14px;line-height:20px;}",
      ".field[aria-invalid=true]{border-color:#dc2626;}",
      ".send{flex:none;padding:10px 16px;border-radius:8px;background:var(--hw-accent);color:#fff;",
      "font-weight:600;}",
      ".send:disabled{opacity:.5;cursor:default;}",
      ".sr-only{position:absolute !important;width:1px !important;height:1px !important;",
      "overflow:hidden !important;clip:rect(0 0 0 0) !important;white-space:nowrap !important;}",
      ".form{flex:none;display:flex;flex-direction:column;gap:6px;padding:12px;background:#fff;",
      "border-top:1px solid #e5e7eb;max-height:60%;overflow-y:auto;}",
      ".form .intro{font-weight:600;}",
      ".form label{display:block;font-size:13px;line-height:18px;font-weight:600;margin-top:4px;}",
      ".form .note{font-size:12px;line-height:16px;color:#6b7280;}",
      ".form .error{font-size:12px;line-height:16px;color:#b91c1c;}",
      ".form .error:empty{display:none;}",
      ".form textarea{min-height:64px;resize:vertical;}",
      ".form .buttons{display:flex;gap:8px;justify-content:flex-end;margin-top:6px;}",
      ".cancel{padding:10px 14px;border-radius:8px;color:#374151;}",
      ".notice{flex:none;padding:6px 12px;font-size:12px;line-height:16px;background:#fef2f2;",
      "color:#991b1b;}",
      ".notice:empty{display:none;}",
      "@media (max-width:480px){.hw{inset-inline-end:12px;bottom:12px;}",
      ".panel{right:0;bottom:0;left:0;top:0;width:100%;height:100%;max-height:none;border-radius:0;}}",
    ].join("\n");

    function adoptStyles(root) {
      try {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } catch (e) {
        // Older browsers: a <style> in the shadow root (a strict page CSP may block it).
        var style = document.createElement("style");
        style.textContent = CSS;
        root.appendChild(style);
      }
    }

    /* ------------------------------------------------------------- building -- */

    var uid = 0;
    function el(tag, attrs, text) {
      var node = document.createElement(tag);
      if (attrs) {
        Object.keys(attrs).forEach(function (name) {
          if (name === "class") node.className = attrs[name];
          else node.setAttribute(name, attrs[name]);
        });
      }
      if (text !== undefined && text !== null) node.textContent = String(text);
      return node;
    }
    function fieldId(name) {
      uid += 1;
      return "hw-" + name + "-" + uid;
    }

    var host = el("div", { "data-handoff-widget": KEY });
    var shadow = host.attachShadow({ mode: "open" });
    adoptStyles(shadow);

    var ui = {};
    function build(config) {
      // Right to left when the language is (Arabic): the styles are logical
      // (inset-inline-end, text-align: start), so the whole layout mirrors.
      var direction = config.dir === "rtl" ? "rtl" : "ltr";
      var wrap = el("div", { class: "hw", dir: direction });
      host.setAttribute("dir", direction);
      if (LANGUAGE) {
        wrap.setAttribute("lang", LANGUAGE);
        host.setAttribute("lang", LANGUAGE);
      }
      if (/^#[0-9a-fA-F]{3,8}$/.test(config.primary_color || "")) {
        wrap.style.setProperty("--hw-accent", config.primary_color); // CSSOM: allowed by CSP
      }

      ui.launcher = el("button", { class: "launcher", type: "button", "aria-label": t("open_chat"), "aria-expanded": "false" });
      var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("viewBox", "0 0 24 24");
      svg.setAttribute("aria-hidden", "true");
      var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
      path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z");
      svg.appendChild(path);
      ui.launcher.appendChild(svg);

      ui.panel = el("section", { class: "panel", role: "dialog", "aria-label": t("chat_with", { name: config.name }) });
      ui.panel.hidden = true;

      var head = el("div", { class: "head" });
      var titles = el("div", { class: "titles" });
      titles.appendChild(el("h2", { class: "title" }, config.name));
      ui.status = el("p", { class: "status", role: "status", "aria-live": "polite" });
      titles.appendChild(ui.status);
      head.appendChild(titles);
      ui.minimize = el("button", { class: "minimize", type: "button", "aria-label": t("minimize_chat") }, "×");
      head.appendChild(ui.minimize);
      ui.panel.appendChild(head);

      ui.notice = el("p", { class: "notice", role: "alert" });
      ui.panel.appendChild(ui.notice);
      ui.log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("conversation") });
      ui.panel.appendChild(ui.log);
      ui.typing = el("p", { class: "typing", "aria-live": "polite" });
      ui.typing.hidden = true;
      ui.panel.appendChild(ui.typing);

      ui.bar = el("div", { class: "bar" });
      ui.human = el("button", { class: "chip", type: "button" }, t("speak_to_human"));
      ui.end = el("button", { class: "chip quiet", type: "button" }, t("end_conversation"));
      ui.restart = el("button", { class: "chip", type: "button" }, t("new_conversation"));
      ui.bar.appendChild(ui.human);
      ui.bar.appendChild(ui.end);
      ui.bar.appendChild(ui.restart);
      ui.panel.appendChild(ui.bar);

      ui.form = buildForm(config);
      ui.panel.appendChild(ui.form);

      ui.composer = el("form", { class: "composer", novalidate: "" });
      var inputId = fieldId("message");
      ui.composer.appendChild(el("label", { class: "sr-only", for: inputId }, t("message_label")));
      ui.input = el("textarea", { id: inputId, name: "message", rows: "1", maxlength: String(config.max_message_chars), placeholder: t("message_placeholder") });
      ui.composer.appendChild(ui.input);
      ui.send = el("button", { class: "send", type: "submit" }, t("send"));
      ui.composer.appendChild(ui.send);
      ui.panel.appendChild(ui.composer);

      wrap.appendChild(ui.panel);
      wrap.appendChild(ui.launcher);
      shadow.appendChild(wrap);
    }

    function buildForm(config) {
      var form = el("form", { class: "form", novalidate: "", "aria-label": t("speak_to_human") });
      form.hidden = true;
      form.appendChild(el("p", { class: "intro" }, t("form_intro")));
      ui.formFields = {};
      [
        ["name", t("name_label"), "input", { type: "text", autocomplete: "name", maxlength: "255" }, t("optional")],
        ["email", t("email_label"), "input", { type: "email", autocomplete: "email", maxlength: "255" }, t("email_note")],
        ["message", t("message_label"), "textarea", { rows: "3", maxlength: String(config.max_message_chars), required: "" }, null],
      ].forEach(function (spec) {
        var id = fieldId(spec[0]);
        var errorId = id + "-error";
        var noteId = id + "-note";
        form.appendChild(el("label", { for: id }, spec[1]));
        var attrs = spec[3];
        attrs.id = id;
        attrs.name = spec[0];
        attrs.class = "field";
        attrs["aria-describedby"] = (spec[4] ? noteId + " " : "") + errorId;
        var field = el(spec[2], attrs);
        form.appendChild(field);
        if (spec[4]) form.appendChild(el("span", { class: "note", id: noteId }, spec[4]));
        var error = el("span", { class: "error", id: errorId });
        form.appendChild(error);
        ui.formFields[spec[0]] = { field: field, error: error };
      });
      ui.formError = el("p", { class: "error", role: "alert" });
      form.appendChild(ui.formError);
      var buttons = el("div", { class: "buttons" });
      ui.formCancel = el("button", { class: "cancel", type: "button" }, t("cancel"));
      ui.formSend = el("button", { class: "send", type: "submit" }, t("send"));
      buttons.appendChild(ui.formCancel);
      buttons.appendChild(ui.formSend);
      form.appendChild(buttons);
      return form;
    }

    var config = null; // the config answer: name, colours, welcome, limits
    var formOpen = false;
    var busy = false; // a bot reply is awaited: one question at a time

    /* ------------------------------------------------------------- messages -- */

    // In the widget's language, not the page's or the browser's: an Arabic widget shows
    // Arabic times.
    var timeFormat = null;
    function clockTime(iso) {
      var date = iso ? new Date(iso) : new Date();
      if (isNaN(date.getTime())) return "";
      if (!timeFormat) {
        try {
          timeFormat = new Intl.DateTimeFormat(LANGUAGE || undefined, { hour: "numeric", minute: "2-digit" });
        } catch (e) {
          timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
        }
      }
      return timeFormat.format(date);
    }

    function bubble(kind, who, text, iso) {
      var li = el("li", { class: "msg " + kind });
      if (who) li.appendChild(el("span", { class: "who" }, who));
      // dir="auto" isolates the text: its bidirectional controls stay inside it.
      li.appendChild(el("span", { class: "text", dir: "auto" }, text));
      var time = el("time", null, clockTime(iso));
      if (iso) time.setAttribute("datetime", iso);
      li.appendChild(time);
      return li;
    }

    function scrollDown() {
      ui.log.scrollTop = ui.log.scrollHeight;
    }

    function showBotLine(line) {
      var li = line.role === "user" ? bubble("mine", null, line.text, line.created_at) : bubble(line.hint ? "bot hint" : "bot", config.name, line.text, line.created_at);
      li.setAttribute("data-bot", "1");
      if (line.hint && line.role !== "user") {
        // The hint itself opens the form. Its own name: "Speak to a human" is the permanent
        // button's (DESIGN.md section 6), and two buttons of one name would clash.
        var offer = el("button", { class: "chip offer", type: "button" }, t("talk_to_person"));
        offer.addEventListener("click", openForm);
        offer.hidden = !canAskForHuman();
        li.insertBefore(offer, li.querySelector("time"));
      }
      ui.log.appendChild(li);
    }

    function rememberBotLine(line) {
      store.rememberBotLine(line);
      showBotLine(line);
      scrollDown();
    }

    function supportBubble(m) {
      if (m.sender_type === "system") return bubble("system", null, m.text, m.created_at);
      if (m.sender_type === "user") return bubble("mine", null, m.text, m.created_at);
      return bubble("agent", m.sender_name || t("agent"), m.text, m.created_at);
    }

    function showSupportMessage(m) {
      if (!m || typeof m.id !== "number" || !store.deliver(m.id)) return;
      if (m.client_id) acknowledge(m.client_id);
      if (m.sender_type === "admin") ui.typing.hidden = true;
      var li = supportBubble(m);
      li.setAttribute("data-id", String(m.id));
      // In id order, ahead of any still-unsent bubbles.
      var before = null;
      var nodes = ui.log.querySelectorAll("li[data-id], li[data-client-id]");
      for (var i = 0; i < nodes.length; i++) {
        var other = nodes[i];
        var otherId = other.getAttribute("data-id");
        if (otherId === null || parseInt(otherId, 10) > m.id) {
          before = other;
          break;
        }
      }
      ui.log.insertBefore(li, before);
      scrollDown();
    }

    function pendingBubble(item) {
      var li = bubble("mine pending", null, item.text, null);
      li.setAttribute("data-client-id", item.client_id);
      li.querySelector("time").textContent = t("sending");
      ui.log.appendChild(li);
      scrollDown();
    }

    // The server has the message: out of the outbox, and its "Sending…" bubble goes.
    function acknowledge(clientId) {
      store.acknowledge(clientId);
      var nodes = ui.log.querySelectorAll("li[data-client-id]");
      for (var i = 0; i < nodes.length; i++) {
        if (nodes[i].getAttribute("data-client-id") === clientId) nodes[i].remove();
      }
    }

    // Refused for good (closed, blank, too long): resending would not help.
    function drop(clientId, reason) {
      acknowledge(clientId);
      showNotice(reason);
    }

    /* --------------------------------------------------------------- status -- */

    function statusText(status) {
      var agentName = store.agentName();
      if (status === "pending") return t("status_pending");
      if (status === "active") return agentName ? t("status_active_named", { name: agentName }) : t("status_active");
      if (status === "resolved") return t("status_resolved");
      if (status === "closed") return t("status_closed");
      return "";
    }

    function setStatus(status, name) {
      store.setStatus(status, name);
      render();
    }

    function showNotice(text) {
      ui.notice.textContent = text || "";
    }

    function showOffline() {
      showNotice(t("offline"));
      ui.notice.setAttribute("data-offline", "1");
    }

    // Only the offline notice: another one (an error) stays until the visitor acts.
    function clearOffline() {
      if (ui.notice.getAttribute("data-offline")) {
        ui.notice.removeAttribute("data-offline");
        showNotice("");
      }
    }

    var typingHideTimer = null;
    function showAgentTyping(isTyping) {
      clearTimeout(typingHideTimer);
      ui.typing.textContent = store.agentName() ? t("agent_typing_named", { name: store.agentName() }) : t("agent_typing");
      ui.typing.hidden = !isTyping || store.status() === "closed";
      if (isTyping) {
        typingHideTimer = setTimeout(function () {
          ui.typing.hidden = true;
        }, 6000);
      }
    }

    function canAskForHuman() {
      return !store.requestId() && !formOpen && !!config.human_support_enabled;
    }

    function render() {
      var inRequest = !!store.requestId();
      var closed = store.status() === "closed";
      ui.status.textContent = inRequest ? statusText(store.status()) : "";
      ui.human.hidden = !canAskForHuman();
      Array.prototype.forEach.call(ui.log.querySelectorAll(".offer"), function (offer) {
        offer.hidden = ui.human.hidden;
      });
      ui.end.hidden = !inRequest || closed;
      ui.restart.hidden = !inRequest || !closed;
      ui.form.hidden = !formOpen;
      ui.composer.hidden = formOpen || (inRequest && closed);
      ui.bar.hidden = ui.human.hidden && ui.end.hidden && ui.restart.hidden;
      if (closed) ui.typing.hidden = true;
      ui.send.disabled = busy;
    }

    /* ------------------------------------------------------- conversations -- */

    function forgetSession(reason) {
      live.disconnect();
      store.forgetSession();
      resetLog();
      showNotice(reason);
      render();
    }

    function forgetRequest(reason) {
      live.disconnect();
      store.forgetRequest();
      resetLog();
      if (reason) showNotice(reason);
      render();
    }

    function resetLog() {
      ui.log.replaceChildren();
      store.resetDelivered();
      live.cancelGapFill();
      store.setAgentName(null);
      if (config.welcome_text) showBotLine({ role: "bot", text: config.welcome_text, created_at: null });
      store.botLines().forEach(showBotLine);
    }

    function talkToBot(text) {
      rememberBotLine({ role: "user", text: text, created_at: new Date().toISOString() });
      busy = true;
      render();
      var attemptSend = function (retried) {
        return api
          .ensureSession()
          .then(function () {
            return api.messageBot(text);
          })
          .catch(function (error) {
            if (error.status === 401 && !retried) {
              store.dropSession();
              return attemptSend(true);
            }
            throw error;
          });
      };
      attemptSend(false)
        .then(function (data) {
          rememberBotLine({ role: "bot", text: data.reply.text, created_at: data.reply.created_at, hint: !!data.handoff_suggested });
          ui.human.classList.toggle("attention", !!data.handoff_suggested);
        })
        .catch(function (error) {
          showNotice(error.status ? error.message : t("offline_retry"));
        })
        .then(function () {
          busy = false;
          render();
        });
    }

    function talkToAgent(text) {
      var item = store.queue(text);
      pendingBubble(item);
      live.sendTyping(false);
      live.flush();
    }

    /* ------------------------------------------------------------- controls -- */

    function setFieldError(name, message) {
      var entry = ui.formFields[name];
      entry.error.textContent = message || "";
      if (message) entry.field.setAttribute("aria-invalid", "true");
      else entry.field.removeAttribute("aria-invalid");
    }

    function openForm() {
      formOpen = true;
      showNotice("");
      render();
      var pending = ui.input.value.trim();
      if (pending && !ui.formFields.message.field.value) ui.formFields.message.field.value = pending;
      ui.formFields.name.field.focus();
    }

    function closeForm() {
      formOpen = false;
      render();
      ui.input.focus();
    }

    function submitForm(event) {
      event.preventDefault();
      var name = ui.formFields.name.field.value.trim();
      var email = ui.formFields.email.field.value.trim();
      var message = ui.formFields.message.field.value.trim();
      setFieldError("name", "");
      setFieldError("email", email && !EMAIL_RE.test(email) ? t("email_invalid") : "");
      setFieldError("message", message ? "" : t("message_required"));
      ui.formError.textContent = "";
      var invalid = ["email", "message"].filter(function (n) {
        return ui.formFields[n].field.getAttribute("aria-invalid") === "true";
      });
      if (invalid.length) {
        ui.formFields[invalid[0]].field.focus();
        return;
      }
      ui.formSend.disabled = true;
      api
        .ensureSession()
        .then(function () {
          return api.askForHuman({ session_id: store.sessionId(), user_name: name || null, user_email: email || null, initial_message: message });
        })
        .then(function (answer) {
          var request = answer.data;
          ui.formFields.message.field.value = "";
          ui.input.value = "";
          formOpen = false;
          store.setRequest(request.request_id, request.status);
          store.setAgentName(request.agent_name);
          render();
          live.connect();
          // 200, not 201: this session already had an open request (made in another tab, say),
          // which the server returns without storing this form's message. Send that message
          // to it the way any message to the agent goes, so it is stored once.
          if (answer.status === 200) talkToAgent(message);
          ui.input.focus();
        })
        .catch(function (error) {
          var errors = (error.data && error.data.errors) || {};
          if (errors.user_email) setFieldError("email", errors.user_email[0]);
          if (errors.user_name) setFieldError("name", errors.user_name[0]);
          if (errors.initial_message) setFieldError("message", errors.initial_message[0]);
          ui.formError.textContent = error.status ? error.message : t("offline_retry");
        })
        .then(function () {
          ui.formSend.disabled = false;
        });
    }

    function endConversation() {
      if (!store.requestId()) return;
      ui.end.disabled = true;
      api
        .closeRequest(store.requestId())
        .then(function (data) {
          setStatus(data.status, data.agent_name);
          live.catchUp();
        })
        .catch(function (error) {
          if (error.status === 409) live.refreshRequest();
          else showNotice(error.status ? error.message : t("offline_retry"));
        })
        .then(function () {
          ui.end.disabled = false;
        });
    }

    function openPanel() {
      ui.panel.hidden = false;
      ui.launcher.hidden = true;
      ui.launcher.setAttribute("aria-expanded", "true");
      store.setOpen(true);
      scrollDown();
      (formOpen ? ui.formFields.name.field : ui.input).focus();
      if (!store.sessionId()) api.ensureSession().catch(function () {});
    }

    function closePanel() {
      ui.panel.hidden = true;
      ui.launcher.hidden = false;
      ui.launcher.setAttribute("aria-expanded", "false");
      store.setOpen(false);
      ui.launcher.focus();
    }

    function wire() {
      ui.launcher.addEventListener("click", openPanel);
      ui.minimize.addEventListener("click", closePanel);
      ui.panel.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          if (formOpen) closeForm();
          else closePanel();
        }
      });
      ui.human.addEventListener("click", openForm);
      ui.formCancel.addEventListener("click", closeForm);
      ui.form.addEventListener("submit", submitForm);
      ui.end.addEventListener("click", endConversation);
      ui.restart.addEventListener("click", function () {
        forgetRequest(null);
        ui.input.focus();
      });
      ui.composer.addEventListener("submit", function (event) {
        event.preventDefault();
        var text = ui.input.value.trim();
        if (!text || busy) return;
        ui.input.value = "";
        showNotice("");
        if (store.requestId()) talkToAgent(text);
        else talkToBot(text);
      });
      ui.input.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          ui.composer.requestSubmit();
        }
      });
      ui.input.addEventListener("input", function () {
        if (store.requestId()) live.sendTyping(ui.input.value.length > 0);
      });
    }

    function start(data) {
      config = data;
      build(config);
      wire();
      resetLog();
      store.outbox().forEach(pendingBubble);
      render();
      (document.body || document.documentElement).appendChild(host);
      if (store.wasOpen()) openPanel();
    }

    return {
      start: start,
      open: function () {
        if (ui.panel) openPanel();
      },
      close: function () {
        if (ui.panel) closePanel();
      },
      showSupportMessage: showSupportMessage,
      acknowledge: acknowledge,
      drop: drop,
      setStatus: setStatus,
      showAgentTyping: showAgentTyping,
      showOffline: showOffline,
      clearOffline: clearOffline,
      forgetSession: forgetSession,
      forgetRequest: forgetRequest,
    };
  })();

  /* -------------------------------------------------------------------- start -- */

  function startWidget(config) {
    useLanguage(config);
    view.start(config);
    live.start(config);
  }

  window.HandoffWidget = {
    key: KEY,
    open: view.open,
    close: view.close,
  };

  api
    .config()
    .then(function (data) {
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", function () {
          startWidget(data);
        });
      } else {
        startWidget(data);
      }
    })
    .catch(function (error) {
      if (window.console) console.warn("Handoff widget: not shown (" + error.message + ")");
    });
})();
